#!/usr/bin/env bash
# Side-by-side training throughput: emlab against PyTorch 1.13 (Debian, on
# OpenBLAS) on the tiny/small/medium presets, in one run, printing ratios
# and each side's share of the machine's FMA peak.
#
# PyTorch runs at its best on this 2-core machine: with tcmalloc preloaded
# (glibc's malloc hands PyTorch's large freed tensors back to the kernel, so
# every operation faults its output's pages in again, which cost the medium
# preset 3-4x on the Zen 5 VM), OPENBLAS_CORETYPE=SkylakeX, and in each round
# both thread settings (one torch thread with two OpenBLAS threads, two torch
# threads with one OpenBLAS thread), the faster kept as that round's figure.
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
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
[ -e "$tcmalloc" ] || need+=(libtcmalloc-minimal4)
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
    for tb in 1:2 2:1; do  # torch threads:OpenBLAS threads
      tt=${tb%:*} bt=${tb#*:}
      LD_PRELOAD=$tcmalloc OPENBLAS_NUM_THREADS=$bt OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 tools/bench/torch_train.py "$p" "$tt" "$secs" |
        sed "s/}\$/, \"round\": $r, \"openblas_threads\": $bt}/" >>"$tmp/torch.jsonl"
    done
    "$tmp/emlab" bench --preset "$p" --json --time "${secs}s" >>"$tmp/emlab.jsonl"
  done
  "$tmp/emlab" bench --preset medium --threads 1 --json --time "${secs}s" >>"$tmp/medium1.jsonl"
done
echo "load after:  $(uptime)"
/usr/bin/python3 - "$tmp" "$rounds" <<'PY'
import json, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
def lines(f): return [json.loads(l) for l in open(d + "/" + f)]
peaks = lines("peak.jsonl")
peak = sum(j["gflops"] for j in peaks)
em, m1 = lines("emlab.jsonl"), lines("medium1.jsonl")
# Each round's PyTorch figure is the faster of its two thread settings; the
# fastest single step is looked for in both.
all_torch, best = lines("torch.jsonl"), {}
for j in all_torch:
    k = (j["preset"], j["round"])
    if k not in best or j["tokens_per_s"] > best[k]["tokens_per_s"]:
        best[k] = j
torch = list(best.values())
print(f"FMA peak: {peak:.0f} GFLOP/s ({len(peaks)} cores at once: {' + '.join('%.0f' % j['gflops'] for j in peaks)})")
print(f"tokens/s: best of {rounds} interleaved rounds (each a mean over its seconds); best step: the fastest single step of all rounds")
print(f"{'preset':7} {'PyTorch':>8} {'emlab':>8} {'ratio':>6} {'median':>6} | {'PyT step':>8} {'em step':>8} {'ratio':>6} | {'PyT %pk':>7} {'em GF/s':>7} {'em %pk':>6}")
for p in ("tiny", "small", "medium"):
    t = [j for j in torch if j["preset"] == p]
    e = [j for j in em if j["preset"] == p]
    ft = lambda j: j["tokens_per_s"]
    fb = lambda j: j["best_step_tokens_per_s"]
    bt, be = max(t, key=ft), max(e, key=ft)
    med = statistics.median(ft(a) / ft(b) for a, b in zip(e, t))
    st, se = max(fb(j) for j in all_torch if j["preset"] == p), max(map(fb, e))
    print(f"{p:7} {ft(bt):8.0f} {ft(be):8.0f} {ft(be)/ft(bt):6.2f} {med:6.2f} | {st:8.0f} {se:8.0f} {se/st:6.2f} |"
          f" {100*bt['gflops']/peak:6.0f}% {be['gflops']:7.1f} {100*be['gflops']/peak:5.0f}%")
    print(f"{'':7} rounds: PyTorch {' '.join('%.0f' % ft(j) for j in t)}; emlab {' '.join('%.0f' % ft(j) for j in e)}")
    print(f"{'':7} PyTorch threads (torch/OpenBLAS) per round: {' '.join('%d/%d' % (j['torch_threads'], j['openblas_threads']) for j in t)}")
b2 = max(j["tokens_per_s"] for j in em if j["preset"] == "medium")
b1 = max(j["tokens_per_s"] for j in m1)
print(f"medium: 2 threads / 1 thread = {b2/b1:.2f} (best round of each)")
PY
