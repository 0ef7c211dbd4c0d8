#!/usr/bin/env bash
# The test suite: every package's tests, offline, in a few minutes on 2 cores.
# Long experiments and benchmarks are separate commands (see docs/benchmarks.md).
#
# The tests themselves never download anything. Building them needs the
# modules go.mod requires (20 modules, about 64 MB of zips: most of it
# modernc.org/sqlite and its libc for the run index, then gonum,
# golang.org/x/text and chromedp for the headless-browser tests): the first
# run on a machine whose Go module cache lacks them fetches them once from
# the Go module proxy (`go mod download` does the same ahead of time);
# every later run is offline.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! GOPROXY=off GOFLAGS=-mod=mod go mod download >/dev/null 2>&1; then
	echo "scripts/test.sh: first run: fetching the modules go.mod requires (about 64 MB) from the Go module proxy; later runs are offline" >&2
	go mod download
fi
go test -count=1 -timeout 20m ./... "$@"
