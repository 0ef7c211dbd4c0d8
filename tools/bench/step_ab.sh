#!/usr/bin/env bash
# A training step, two commits side by side: builds emlab at BASE and at the
# working tree, then times `emlab bench --preset P` on both, ROUNDS rounds,
# printing each round's tokens/s and the new/base ratio, and a summary.
#
#   MODE=alt (default): the two binaries one after the other on the
#   preset's threads, the order flipped every round (what compare.sh runs).
#   MODE=pair: both at once, one thread each, each pinned to its own core
#   (taskset), the cores swapped every round. Both sides then see the
#   host's minute-to-minute speed at once, so the ratios are steadier; the
#   summary averages them over pairs of rounds, which cancels a difference
#   between the two cores (about 4 % on the Zen 5 VM).
#
# A change that keeps every bit should be checked for that first
# (`emlab train --preset P --set train.steps=30 --out DIR` on both, cmp the
# checkpoints). On a shared machine set the session's autogroup first (as
# root: echo -10 > /proc/self/autogroup; see docs/benchmarks.md).
#
# usage: tools/bench/step_ab.sh BASE [PRESET] [ROUNDS] [SECONDS]   (default small 10 4)
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${1:?usage: step_ab.sh BASE [PRESET] [ROUNDS] [SECONDS]}
preset=${2:-small}
rounds=${3:-10}
secs=${4:-4}
mode=${MODE:-alt}
. tools/bench/ab_build.sh
echo ", $preset, $mode"
tps() { /usr/bin/python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["tokens_per_s"]))' "$1"; }
for r in $(seq "$rounds"); do
  if [ "$mode" = pair ]; then
    cb=$(( r % 2 )); cn=$(( 1 - cb ))
    taskset -c "$cb" "$tmp/base" bench --preset "$preset" --json --time "${secs}s" --threads 1 >"$tmp/base.json" &
    taskset -c "$cn" "$tmp/new" bench --preset "$preset" --json --time "${secs}s" --threads 1 >"$tmp/new.json" &
    wait
  else
    order="base new"
    (( r % 2 )) || order="new base"
    for side in $order; do
      "$tmp/$side" bench --preset "$preset" --json --time "${secs}s" >"$tmp/$side.json"
    done
  fi
  echo "$r $(tps "$tmp/base.json") $(tps "$tmp/new.json")"
done | tee "$tmp/rounds"
/usr/bin/python3 - "$tmp/rounds" "$mode" <<'EOF'
import math, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
ratios = [int(n) / int(b) for _, b, n in rows]
logs = [math.log(x) for x in ratios]
line = "new/base: median %.4f (%.3f–%.3f), new faster in %d of %d rounds" % (
    statistics.median(ratios), min(ratios), max(ratios), sum(x > 1 for x in ratios), len(ratios))
if sys.argv[2] == "pair":
    pairs = [math.exp((logs[i] + logs[i + 1]) / 2) for i in range(0, len(logs) - 1, 2)]
    line += "; over pairs of rounds: geometric mean %.4f, new faster in %d of %d" % (
        math.exp(sum(logs[:2 * len(pairs)]) / (2 * len(pairs))), sum(p > 1 for p in pairs), len(pairs))
print(line)
EOF
