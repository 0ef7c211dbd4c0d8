#!/usr/bin/env bash
# Two writers on one run directory, measured with a given emlab binary:
#  - two `emlab eval --all` at once on one run, scoring different tasks:
#    per trial, how many of the 30 (step, variant) pairs evals.jsonl keeps;
#  - two `emlab train --resume` started together on one new directory and
#    stopped after 5 s: the metrics lines and the steps logged twice, and
#    the refusal ("held by PID n") if there is one.
# Usage: scripts/two-writers.sh EMLAB_BINARY [EVAL_TRIALS] [TRAIN_TRIALS]
set -u
bin=$1 etrials=${2:-20} ttrials=${3:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=$work/run
"$bin" train --tasks 'add,add(format=reversed)' --set model.d_model=16 --set model.n_layers=1 --set model.n_heads=2 \
  --set model.n_ctx=32 --set train.batch_size=8 --steps 20 --set train.checkpoint_every=5 \
  --set train.checkpoint_log_max=0 --out "$run" --quiet >/dev/null || exit 1
count='
import json, sys, collections
keys, steps, lines = set(), collections.Counter(), 0
for l in open(sys.argv[2]):
    try: d = json.loads(l)
    except ValueError: continue
    lines += 1
    keys.add((d["step"], d.get("task")))
    steps[d["step"]] += 1
if sys.argv[1] == "pairs": print(len(keys))
else: print(lines, "lines,", sum(v > 1 for v in steps.values()), "steps twice")'
echo "eval: (step, variant) pairs kept of 30, per trial"
for i in $(seq 1 "$etrials"); do
  rm -f "$run/evals.jsonl"
  "$bin" eval --run "$run" --all --tasks add --n 8 --batch 8 --quiet >/dev/null 2>"$work/a.err" & a=$!
  "$bin" eval --run "$run" --all --tasks 'add(format=reversed)' --n 8 --batch 8 --quiet >/dev/null 2>"$work/b.err" & b=$!
  wait $a; ra=$?; wait $b; rb=$?
  echo "  trial $i: exits $ra $rb, pairs $(python3 -c "$count" pairs "$run/evals.jsonl")"
done
echo "train: two at once, stopped after 5 s"
for i in $(seq 1 "$ttrials"); do
  d=$work/train$i
  "$bin" train --preset tiny --steps 100000 --out "$d" --resume --quiet >/dev/null 2>"$work/a.err" & a=$!
  "$bin" train --preset tiny --steps 100000 --out "$d" --resume --quiet >/dev/null 2>"$work/b.err" & b=$!
  sleep 5
  kill -TERM $a $b 2>/dev/null; wait $a; wait $b
  echo "  trial $i: $(python3 -c "$count" steps "$d/metrics.jsonl"); $(cat "$work/a.err" "$work/b.err" | grep -o 'held by PID [0-9]*' | head -1)"
done
