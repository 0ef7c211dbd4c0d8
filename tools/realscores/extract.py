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

x is the total parameter count: computed exactly for Pythia from its
architecture (GPT-NeoX, untied embeddings, vocabulary padded to 50304):
2*V*d + L*(12*d^2 + 13*d) + 2*d; the nominal count in the model name for
OPT and BLOOM.

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
import subprocess
import sys

PYTHIA_ARCH = {  # size: (n_layers, d_model), from the Pythia README
    "70m": (6, 512), "160m": (12, 768), "410m": (24, 1024), "1b": (16, 2048),
    "1.4b": (24, 2048), "2.8b": (32, 2560), "6.9b": (32, 4096), "12b": (36, 5120),
}
VOCAB = 50304
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


def pythia_params(size):
    layers, d = PYTHIA_ARCH[size]
    return 2 * VOCAB * d + layers * (12 * d * d + 13 * d) + 2 * d


def show(repo, path):
    out = subprocess.run(["git", "--git-dir", repo, "show", "HEAD:" + path], check=True, capture_output=True)
    return json.loads(out.stdout)


def runs():
    """(family, shots, size, seed, params, path) for every evaluation file used."""
    for size in PYTHIA_ARCH:
        for seed, d in (("standard", "pythia-" + size), ("deduped", "pythia-" + size + "-deduped")):
            if size == "1b" and seed == "standard":
                d = "pythia-1b-bf16"
            tag = d[len("pythia-"):]
            zero = "evals/pythia-v1/%s/zero-shot/%s_step143000.json" % (d, tag)
            five_tag = tag.replace("-bf16", "")
            five = "evals/pythia-v1/%s/five-shot/%s-5shot_step143000.json" % (d, five_tag)
            yield "pythia", "0shot", size, seed, pythia_params(size), zero
            yield "pythia", "5shot", size, seed, pythia_params(size), five
    for size in ("125m", "350m", "1.3b", "2.7b", "6.7b", "13b", "30b", "66b"):
        yield "opt", "0shot", size, "", NOMINAL[size], "evals/opt/opt-%s.json" % size
    for size in ("560m", "1b1", "1b7", "3b", "7b1"):
        yield "bloom", "0shot", size, "", NOMINAL[size], "evals/bloom/bloom-%s.json" % size


def main():
    repo = sys.argv[1]
    rows = []  # (task, metric, x, value, seed, se, chance)
    for family, shots, size, seed, params, path in runs():
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
    print("task,metric,x,value,seed,n,chance,low,high")
    for task, m, x, v, seed, se, chance in rows:
        if m == "ppl":
            print("%s,%s,%d,%.6g,%s,,,%.6g,%.6g" % (task, m, x, v, seed, v - 1.959964 * se, v + 1.959964 * se))
        else:
            print("%s,%s,%d,%.6g,%s,%d,%g,," % (task, m, x, v, seed, items[task.split("/")[1]], chance))


if __name__ == "__main__":
    main()
