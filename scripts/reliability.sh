#!/usr/bin/env bash
# The reliability suite: every TestReliability* test, each case a subtest,
# counted. Prints one line per package and a total:
#   cases (leaf tests run), handled (passed), failed, skipped, crashes
#   (a panic or a test timeout in the output).
# Usage: scripts/reliability.sh [go test flags, e.g. -count=3]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
go test -json -count=1 -timeout 20m -run Reliability "$@" ./... >"$out" || status=$?
python3 - "$out" <<'PY'
import json, sys, collections
events = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
tests = {}          # (pkg, test) -> final action
parents = set()
crash = collections.Counter()
for e in events:
    pkg, test, act = e.get("Package", ""), e.get("Test"), e.get("Action")
    if test and act in ("pass", "fail", "skip"):
        tests[(pkg, test)] = act
        # Every prefix ending before a "/" may be the parent (a subtest's
        # own name may hold a slash).
        for i, ch in enumerate(test):
            if ch == "/":
                parents.add((pkg, test[:i]))
    if act == "output" and ("panic:" in e.get("Output", "") or "test timed out" in e.get("Output", "")):
        crash[pkg] += 1
leaves = {k: v for k, v in tests.items() if k not in parents}
by = collections.defaultdict(collections.Counter)
for (pkg, _), act in leaves.items():
    by[pkg][act] += 1
tot = collections.Counter()
print(f"{'package':32} {'cases':>6} {'handled':>8} {'failed':>7} {'skipped':>8} {'crashes':>8}")
for pkg in sorted(by):
    c = by[pkg]; n = sum(c.values())
    tot.update(c); tot["crash"] += crash[pkg]
    print(f"{pkg.removeprefix('emlab/'):32} {n:6} {c['pass']:8} {c['fail']:7} {c['skip']:8} {crash[pkg]:8}")
n = tot["pass"] + tot["fail"] + tot["skip"]
print(f"{'total':32} {n:6} {tot['pass']:8} {tot['fail']:7} {tot['skip']:8} {tot['crash']:8}")
for (pkg, test), act in sorted(leaves.items()):
    if act == "fail":
        print(f"FAIL {pkg} {test}")
PY
exit $status
