#!/usr/bin/env bash
# The test suite: every package's tests, offline, in a few minutes on 2 cores.
# Long experiments and benchmarks are separate commands (see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
go test -count=1 -timeout 20m ./... "$@"
