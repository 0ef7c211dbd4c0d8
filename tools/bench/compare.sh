#!/usr/bin/env bash
# Side-by-side training throughput: emlab against PyTorch 1.13 (Debian, on
# OpenBLAS) on the tiny/small/medium presets, in one run, printing ratios
# and each side's share of the machine's FMA peak.
#
# PyTorch runs at its best setting on this 2-core machine: one torch thread,
# two OpenBLAS threads, OPENBLAS_CORETYPE=SkylakeX (for its command only).
# emlab runs each preset at its train.threads (two threads for tiny, small
# and medium), and medium also on one thread to report the 2-thread scaling.
# The measurements are interleaved (each round runs every preset on both
# sides, one after the other) and each side keeps its best round, so that
# load from other processes penalises neither side more; the median round's
# ratio is printed too. The peak is tools/bench/peak/peak.c run on every
# core at once (the sum; FMAs only, the widest vectors the CPU has).
#
# usage: tools/bench/compare.sh [seconds-per-measurement] [rounds]   (default 5 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-5}
rounds=${2:-3}
need=()
/usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
[ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] || need+=(libopenblas0-pthread)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/emlab" ./cmd/emlab
gcc -O2 -o "$tmp/peak" tools/bench/peak/peak.c
echo "load before: $(uptime)"
cores=$(nproc)
for _ in $(seq "$cores"); do "$tmp/peak" >>"$tmp/peak.jsonl" & done
wait
for r in $(seq "$rounds"); do
  for p in tiny small medium; do
    OPENBLAS_NUM_THREADS=2 OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 tools/bench/torch_train.py "$p" 1 "$secs" >>"$tmp/torch.jsonl"
    "$tmp/emlab" bench --preset "$p" --json --time "${secs}s" >>"$tmp/emlab.jsonl"
  done
  "$tmp/emlab" bench --preset medium --threads 1 --json --time "${secs}s" >>"$tmp/medium1.jsonl"
done
echo "load after:  $(uptime)"
/usr/bin/python3 - "$tmp" "$rounds" <<'PY'
import json, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
def lines(f): return [json.loads(l) for l in open(d + "/" + f)]
peak = sum(j["gflops"] for j in lines("peak.jsonl"))
torch, em, m1 = lines("torch.jsonl"), lines("emlab.jsonl"), lines("medium1.jsonl")
print(f"two-core FMA peak: {peak:.0f} GFLOP/s ({len(lines('peak.jsonl'))} cores at once); best of {rounds} interleaved rounds")
print(f"{'preset':8} {'PyTorch tok/s':>14} {'emlab tok/s':>12} {'ratio':>6} {'median':>6} {'PyTorch %pk':>11} {'emlab GFLOP/s':>14} {'emlab %pk':>9}")
for p in ("tiny", "small", "medium"):
    t = [j for j in torch if j["preset"] == p]
    e = [j for j in em if j["preset"] == p]
    bt, be = max(t, key=lambda j: j["tokens_per_s"]), max(e, key=lambda j: j["tokens_per_s"])
    med = statistics.median(a["tokens_per_s"] / b["tokens_per_s"] for a, b in zip(e, t))
    print(f"{p:8} {bt['tokens_per_s']:14.0f} {be['tokens_per_s']:12.0f} {be['tokens_per_s']/bt['tokens_per_s']:6.2f} {med:6.2f}"
          f" {100*bt['gflops']/peak:10.0f}% {be['gflops']:14.1f} {100*be['gflops']/peak:8.0f}%")
    rt = " ".join("%.0f" % j["tokens_per_s"] for j in t)
    re_ = " ".join("%.0f" % j["tokens_per_s"] for j in e)
    print(f"{'':8} rounds: PyTorch {rt}; emlab {re_}")
b2 = max(j["tokens_per_s"] for j in em if j["preset"] == "medium")
b1 = max(j["tokens_per_s"] for j in m1)
print(f"medium: 2 threads / 1 thread = {b2/b1:.2f} (best of each)")
PY
