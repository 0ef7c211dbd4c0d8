#!/usr/bin/env python3
"""Extract published benchmark scores of three model families into the
emlab analyze CSV format (task,metric,x,value,seed,n,chance,low,high).

Source: the evaluation results the Pythia authors published in
github.com/EleutherAI/pythia, directory evals/ (Apache License 2.0;
Biderman et al. 2023, "Pythia: A Suite for Analyzing Large Language Models
Across Training and Scaling"). They ran lm-evaluation-harness on

  * Pythia v1 (8 sizes, 70M-12B), each trained twice: on the Pile
    ("standard") and on the deduplicated Pile ("deduped"); the two runs of a
    size go in as two seeds. The 1B standard model's results are those of
    its bf16 run (the only standard 1B in evals/pythia-v1). Final
    checkpoint (step 143000), zero-shot and five-shot.
  * OPT (8 sizes, 125M-66B) and BLOOM (5 sizes, 560M-7.1B), zero-shot, one
    run per size.

x is the total parameter count: for Pythia computed exactly from the
training configs in the same repository (models/<size>/pythia-<size>.yml:
num-layers L, hidden-size d, model-parallel-size mp; GPT-NeoX with untied
embeddings pads the 50277-token vocabulary to a multiple of 128*mp, V):
2*V*d + L*(12*d^2 + 13*d) + 2*d, which gives the counts the Pythia README
lists (70,426,624 ... 11,846,072,320); the nominal count in the model name
for OPT and BLOOM.

Accuracies carry n, the number of items, recovered from the harness's
standard error: lm-evaluation-harness reports sqrt(p(1-p)/(n-1)), so
n = p(1-p)/se^2 + 1, rounded; the most common value over a task's models
is used (the benchmark's size). Perplexities carry a 95 % interval
(value +/- 1.96 se) in low/high. chance is the accuracy of guessing among
the answer choices (lambada: 0, an open-vocabulary word).

Usage: extract.py PYTHIA_GIT_DIR > internal/stats/testdata/real_scores.csv
(PYTHIA_GIT_DIR: a clone or bare mirror of github.com/EleutherAI/pythia;
the script reads it with `git show`, at commit a19eecb).
"""
import collections
import json
import re
import subprocess
import sys

PYTHIA_SIZES = ["70m", "160m", "410m", "1b", "1.4b", "2.8b", "6.9b", "12b"]
TOKENIZER_VOCAB = 50277
NOMINAL = {
    "125m": 125e6, "350m": 350e6, "1.3b": 1.3e9, "2.7b": 2.7e9, "6.7b": 6.7e9, "13b": 13e9, "30b": 30e9, "66b": 66e9,
    "560m": 560e6, "1b1": 1.1e9, "1b7": 1.7e9, "3b": 3e9, "7b1": 7.1e9,
}
# Benchmarks and the chance rate of their accuracy (answer choices).
TASKS = {
    "lambada_openai": 0.0, "piqa": 0.5, "winogrande": 0.5, "wsc": 0.5, "arc_easy": 0.25,
    "arc_challenge": 0.25, "sciq": 0.25, "logiqa": 0.25,
}
MMLU_PREFIX = "hendrycksTest-"


def show_text(repo, path):
    out = subprocess.run(["git", "--git-dir", repo, "show", "HEAD:" + path], check=True, capture_output=True)
    return out.stdout.decode()


def show(repo, path):
    return json.loads(show_text(repo, path))


def pythia_params(repo, size):
    cfg = show_text(repo, "models/%s/pythia-%s.yml" % (size.upper(), size))
    def key(name):
        m = re.search(r'"%s"\s*:\s*(\d+)' % re.escape(name), cfg)
        return int(m.group(1))
    layers, d, mp = key("num-layers"), key("hidden-size"), key("model-parallel-size")
    mult = 128 * mp
    vocab = -(-TOKENIZER_VOCAB // mult) * mult
    return 2 * vocab * d + layers * (12 * d * d + 13 * d) + 2 * d


def runs(repo):
    """(family, shots, size, seed, params, path) for every evaluation file used."""
    for size in PYTHIA_SIZES:
        for seed, d in (("standard", "pythia-" + size), ("deduped", "pythia-" + size + "-deduped")):
            if size == "1b" and seed == "standard":
                d = "pythia-1b-bf16"
            tag = d[len("pythia-"):]
            zero = "evals/pythia-v1/%s/zero-shot/%s_step143000.json" % (d, tag)
            five_tag = tag.replace("-bf16", "")
            five = "evals/pythia-v1/%s/five-shot/%s-5shot_step143000.json" % (d, five_tag)
            yield "pythia", "0shot", size, seed, pythia_params(repo, size), zero
            yield "pythia", "5shot", size, seed, pythia_params(repo, size), five
    for size in ("125m", "350m", "1.3b", "2.7b", "6.7b", "13b", "30b", "66b"):
        yield "opt", "0shot", size, "", NOMINAL[size], "evals/opt/opt-%s.json" % size
    for size in ("560m", "1b1", "1b7", "3b", "7b1"):
        yield "bloom", "0shot", size, "", NOMINAL[size], "evals/bloom/bloom-%s.json" % size


def main():
    repo = sys.argv[1]
    rows = []  # (task, metric, x, value, seed, se, chance)
    for family, shots, size, seed, params, path in runs(repo):
        res = show(repo, path)["results"]
        for bench, scores in sorted(res.items()):
            if bench in TASKS:
                chance = TASKS[bench]
            elif bench.startswith(MMLU_PREFIX) and shots == "0shot":
                chance = 0.25
            else:
                continue
            name = bench.replace(MMLU_PREFIX, "mmlu_")
            metrics = ["acc", "ppl"] if bench == "lambada_openai" else ["acc"]
            for m in metrics:
                if m not in scores:
                    continue
                task = "%s/%s/%s" % (family, name, shots)
                rows.append((task, m, params, scores[m], seed, scores[m + "_stderr"], chance))
    # Items per benchmark: the most common n recovered from the standard errors.
    ns = collections.defaultdict(collections.Counter)
    for task, m, _, v, _, se, _ in rows:
        if m == "acc" and se > 0 and 0 < v < 1:
            ns[task.split("/")[1]][round(v * (1 - v) / se ** 2 + 1)] += 1
    items = {b: c.most_common(1)[0][0] for b, c in ns.items()}
    print("# Published benchmark scores of Pythia v1, OPT and BLOOM, from the evaluation results in")
    print("# github.com/EleutherAI/pythia evals/ (commit a19eecb), Apache License 2.0 (Biderman et al. 2023).")
    print("# Extracted by tools/realscores/extract.py; see its header and docs/stats.md, \"Real score tables\".")
    print("task,metric,x,value,seed,n,chance,low,high")
    for task, m, x, v, seed, se, chance in rows:
        if m == "ppl":
            print("%s,%s,%d,%.6g,%s,,,%.6g,%.6g" % (task, m, x, v, seed, v - 1.959964 * se, v + 1.959964 * se))
        else:
            print("%s,%s,%d,%.6g,%s,%d,%g,," % (task, m, x, v, seed, items[task.split("/")[1]], chance))


if __name__ == "__main__":
    main()
