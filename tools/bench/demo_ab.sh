#!/usr/bin/env bash
# The demo's wall time, two commits side by side: builds emlab at BASE and at
# the working tree, then runs `emlab demo` (--quick unless MODE=full) into
# empty directories, new then base, ROUNDS times, printing each demo's time
# with the load average around it and tools/bench/demo_times.py's lines, and
# checks that both sides wrote the same analysis.json and findings.json.
# On a shared machine set the session's autogroup first (as root:
# echo -10 > /proc/self/autogroup; see docs/benchmarks.md).
#
# usage: tools/bench/demo_ab.sh BASE [ROUNDS]      (default 2; MODE=full for the full demo)
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${1:?usage: demo_ab.sh BASE [ROUNDS]}
rounds=${2:-2}
quick=--quick
[ "${MODE:-quick}" = full ] && quick=
. tools/bench/ab_build.sh
echo
for r in $(seq "$rounds"); do
  for side in new base; do
    out="$tmp/$side-$r"
    l0=$(cut -d' ' -f1 /proc/loadavg)
    s=$(date +%s.%N)
    "$tmp/$side" demo $quick --out "$out" >"$out.log" 2>&1 || { echo "$side round $r failed:"; tail "$out.log"; exit 1; }
    e=$(date +%s.%N)
    echo "$side round $r: $(echo "$e - $s" | bc) s, load average $l0 -> $(cut -d' ' -f1 /proc/loadavg), $(grep -o '[0-9]* of [0-9]* findings supported' "$out.log")"
    /usr/bin/python3 tools/bench/demo_times.py "$out" | sed 's/^/    /'
  done
  for f in analysis.json findings.json; do
    cmp -s "$tmp/new-$r/$f" "$tmp/base-$r/$f" && echo "round $r: $f identical" || echo "round $r: $f DIFFERS"
  done
done
