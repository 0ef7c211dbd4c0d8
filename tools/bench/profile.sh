#!/usr/bin/env bash
# Where a preset's training step spends its time: `emlab bench` under
# `perf record` (software cpu-clock events, so it works in a VM without a
# PMU), the samples of every thread summed and grouped by the step's parts.
# Shares are of all CPU samples, so with two threads the time the pool's
# workers spend waiting for each other shows as "waiting".
#
# usage: tools/bench/profile.sh [preset] [threads] [seconds]   (default tiny, the preset's, 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=${1:-tiny}
threads=${2:-0}
secs=${3:-10}
command -v perf >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/emlab" ./cmd/emlab
args=(bench --preset "$preset" --json --time "${secs}s")
[ "$threads" != 0 ] && args+=(--threads "$threads")
perf record -q -e cpu-clock -F 2000 -g -o "$tmp/perf.data" "$tmp/emlab" "${args[@]}" >"$tmp/bench.json" 2>/dev/null
cat "$tmp/bench.json"
perf script -i "$tmp/perf.data" 2>/dev/null | /usr/bin/python3 -c '
import sys
# Each sample is its call stack, leaf first; it counts for the innermost
# function on it that names a part (so the micro-kernels count for the
# attention head or the linear layer that called them, a bias gradient
# for itself even when a fused kernel called it).
parts = [
    ("GEMMs of the linear layers and the unembedding", ["tensor.Gemm", "tensor.GemmBias", "tensor.(*gemmJob).do"]),
    ("attention heads (fused QK, softmax, PV and their backward)", ["tensor.AttentionHeadForward", "tensor.AttentionHeadBackward"]),
    ("GELU forward and backward", ["tensor.GELUForward", "tensor.GELUBiasBackward", "tensor.GELUBackward"]),
    ("LayerNorm forward and backward", ["tensor.LayerNormForward", "tensor.LayerNormBackward", "tensor.(*lnFwdJob).do", "tensor.(*lnBwdJob).do"]),
    ("residual adds and the micro-batch gradient sum", ["tensor.Add"]),
    ("bias gradients", ["tensor.BiasGrad", "tensor.(*biasGradJob).do"]),
    ("cross-entropy with its gradient", ["tensor.SoftmaxCrossEntropy", "tensor.(*sceJob).do"]),
    ("embedding gather and scatter", ["tensor.Gather", "tensor.ScatterAdd"]),
    ("AdamW", ["tensor.AdamW", "tensor.(*adamJob).do"]),
    ("gradient norm and clipping", ["optim.ClipGradNorm"]),
    ("zeroing gradients", ["nn.(*ParamSet).ZeroGrad"]),
    ("data (batches)", ["data.(*Synthetic).Batch"]),
    # A worker running another elementwise chunk (the calling frames are
    # not on its stack).
    ("other elementwise chunks on a worker", ["tensor.(*elemJob).do", "tensor.(*biasJob).do"]),
    ("waiting for the other core (worker pool)", ["tensor.(*pool).worker", "tensor.(*pool).run"]),
]
owner = {f: name for name, fns in parts for f in fns}
fallback = {f for name, fns in parts[-2:] for f in fns}
primary = set(owner) - fallback
count = {name: 0 for name, _ in parts}
other, total, stack = 0, 0, []
def flush():
    global other, total
    if not stack:
        return
    total += 1
    fns = [sym.split("/internal/")[-1].removesuffix("-fm").removesuffix(".abi0") for sym in stack]
    # The fallbacks (a worker chunk, the pool) count only when no part
    # is on the stack: inside a micro-batch the same chunks run in the
    # frames of the kernel that named them.
    for tier in (primary, fallback):
        hit = next((f for f in fns if f in tier), None)
        if hit:
            count[owner[hit]] += 1
            break
    else:
        other += 1
    stack.clear()
for line in sys.stdin:
    if not line.strip():
        flush()
    elif line[0] in " \t":  # a frame: address, symbol+offset, (object)
        f = line.split()
        if len(f) >= 2:
            stack.append(f[1].split("+0x")[0])
flush()
for name, _ in parts:
    print(f"| {name} | {100 * count[name] / total:.0f}% |")
print(f"| other (runtime, kernel, the rest) | {100 * other / total:.0f}% |")
'
