#!/usr/bin/env bash
# Side-by-side SGEMM benchmark: emlab's tensor.Gemm against OpenBLAS
# (Debian's libopenblas, OPENBLAS_CORETYPE=SkylakeX for its command only) on
# the presets' matrix shapes, one and two threads, printing a markdown table.
#
# usage: tools/bench/gemm/run.sh [-rounds N] [-time 0.2s] [-only NAME]
set -euo pipefail
cd "$(dirname "$0")/../../.."
if [ ! -e /usr/include/x86_64-linux-gnu/cblas.h ] && [ ! -e /usr/include/cblas.h ] ||
   [ ! -e /usr/lib/x86_64-linux-gnu/libopenblas.so ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev gcc >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/sgemm_openblas" tools/bench/gemm/csrc/sgemm_openblas.c -lopenblas
go run ./tools/bench/gemm -openblas "$tmp/sgemm_openblas" "$@"
