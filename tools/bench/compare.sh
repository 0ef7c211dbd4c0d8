#!/usr/bin/env bash
# Side-by-side training throughput: emlab against PyTorch 1.13 (Debian, on
# OpenBLAS) on the tiny/small/medium presets, in one run, printing ratios.
# PyTorch runs at its best setting on this 2-core machine: one torch thread,
# two OpenBLAS threads, OPENBLAS_CORETYPE=SkylakeX (for its command only).
# emlab runs each preset at its train.threads (two threads for tiny, small
# and medium), and medium also on one thread to report the 2-thread scaling.
#
# usage: tools/bench/compare.sh [seconds-per-measurement]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-5}
need=()
/usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
[ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] || need+=(libopenblas0-pthread)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
bin=$(mktemp -d)/emlab
go build -o "$bin" ./cmd/emlab
tmp=$(mktemp -d)
for p in tiny small medium; do
  OPENBLAS_NUM_THREADS=2 OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 tools/bench/torch_train.py "$p" 1 "$secs" >>"$tmp/torch.jsonl"
  "$bin" bench --preset "$p" --json --time "${secs}s" >>"$tmp/emlab.jsonl"
done
"$bin" bench --preset medium --threads 1 --json --time "${secs}s" >"$tmp/medium1.jsonl"
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
torch = {j["preset"]: j for j in map(json.loads, open(d + "/torch.jsonl"))}
em = {j["preset"]: j for j in map(json.loads, open(d + "/emlab.jsonl"))}
m1 = json.loads(open(d + "/medium1.jsonl").read())
print(f"{'preset':8} {'PyTorch tok/s':>14} {'emlab tok/s':>12} {'ratio':>6} {'emlab GFLOP/s':>14} {'threads':>7}")
for p in ("tiny", "small", "medium"):
    t, e = torch[p], em[p]
    print(f"{p:8} {t['tokens_per_s']:14.0f} {e['tokens_per_s']:12.0f} {e['tokens_per_s']/t['tokens_per_s']:6.2f} {e['gflops']:14.1f} {e['threads']:7d}")
print(f"medium: 2 threads / 1 thread = {em['medium']['tokens_per_s']/m1['tokens_per_s']:.2f}")
PY
