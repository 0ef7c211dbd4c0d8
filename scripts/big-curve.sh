#!/usr/bin/env bash
# analyze on one curve of N distinct x (a long run's checkpoints): writes
# a CSV of N rows, a sharp rise of exact match on 100 items a point from
# chance 0.1, and times `emlab analyze --csv` on it with /usr/bin/time -v
# (wall, user and system CPU, peak resident set).
# Usage: scripts/big-curve.sh EMLAB_BINARY [N]   (N defaults to 1000000)
set -euo pipefail
bin=$1 n=${2:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$n" "$work/curve.csv" <<'PY'
import math, random, sys
n, path = int(sys.argv[1]), sys.argv[2]
random.seed(3)
with open(path, "w") as f:
    f.write("task,metric,x,value,n,chance\n")
    for i in range(n):
        t = 2 + 4 * (i + 0.5) / n
        p = 0.1 + 0.8 / (1 + math.exp(-(t - 4.3) / 0.05))
        k = round(random.gauss(100 * p, math.sqrt(100 * p * (1 - p) + 1e-9)))
        f.write(f"big,exact_match,{10 ** (t / 4)!r},{min(100, max(0, k)) / 100},100,0.1\n")
PY
echo "$n rows, $(du -h "$work/curve.csv" | cut -f1)"
/usr/bin/time -v "$bin" analyze --csv "$work/curve.csv" 2>"$work/time" | cut -c1-200
grep -E "Elapsed|User time|System time|Maximum resident" "$work/time"
