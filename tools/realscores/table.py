#!/usr/bin/env python3
"""Summarise `emlab analyze --json` output as the markdown tables of
docs/stats.md ("Real score tables"): one row per curve outside MMLU, and
per family the count of each verdict over the MMLU subjects with the ones
that are not flat listed.

Usage: emlab analyze --csv internal/stats/testdata/real_scores.csv --json | tools/realscores/table.py
"""
import collections
import json
import sys


def num(v, fmt="%.3g"):
    return "–" if v is None else fmt % v


def main():
    rows = [json.loads(l) for l in sys.stdin if l.strip()]
    print("| curve | metric | verdict | fit | family sd | n_min | reason |")
    print("|---|---|---|---|---|---|---|")
    mmlu = collections.defaultdict(collections.Counter)
    odd = collections.defaultdict(list)
    for r in rows:
        family, bench, shots = r["task"].split("/")
        if bench.startswith("mmlu_"):
            mmlu[family][r["verdict"]] += 1
            if r["verdict"] != "flat":
                odd[family].append("%s (%s)" % (bench[5:], r["verdict"]))
            continue
        print("| %s %s %s | %s | %s | %s | %s | %s | %s |" % (family, bench, shots, r["metric"], r["verdict"],
              r.get("fit") or "–", num(r.get("family_sd")), r.get("n_min") or "–", r.get("reason", "").replace("|", "/")))
    print()
    print("| family | MMLU subjects | verdicts | not flat |")
    print("|---|---|---|---|")
    for family, c in mmlu.items():
        print("| %s | %d | %s | %s |" % (family, sum(c.values()), ", ".join("%s %d" % kv for kv in sorted(c.items())),
              ", ".join(odd[family]) or "–"))


if __name__ == "__main__":
    main()
