"""Where an `emlab demo` run's time went, from its output directory.

Each run's steps (train, eval, probe) are separate processes that write
DIR/<study>/<run>/<step>.log from their start to their end, so a log's
birth and modification times bracket the step. The demo's analysis and
report come after the last run's last step and end with report.html.

usage: python3 tools/bench/demo_times.py DIR

Prints, per study and step, the summed seconds (core-seconds: the demo runs
one step per core at a time) and the wall-clock phases: runs (first step's
start to the last step's end) and analysis + report (to report.html), the
latter split at analysis.json into the ladder's statistics and the
studies' findings with the report.
Needs a filesystem that records birth times (statx; ext4, tmpfs, xfs).
"""
import os
import sys
from collections import defaultdict


def birth(path):
    st = os.stat(path)
    b = getattr(st, "st_birthtime", None)
    if b is None:
        # Python < 3.12 on Linux has no st_birthtime: ask stat(1), to the
        # nanosecond (plain %W rounds down to the second, which adds half
        # a second to every step on average).
        import subprocess
        b = float(subprocess.check_output(["stat", "-c", "%.9W", path]).decode())
        if b == 0:
            sys.exit(f"{path}: this filesystem records no birth time")
    return b


def main(root):
    steps = defaultdict(float)  # (study, step) -> seconds
    first, last = None, None
    for study in sorted(os.listdir(root)):
        sdir = os.path.join(root, study)
        if not os.path.isdir(sdir):
            continue
        for run in sorted(os.listdir(sdir)):
            rdir = os.path.join(sdir, run)
            for step in ("train", "eval", "probe"):
                log = os.path.join(rdir, step + ".log")
                if not os.path.exists(log):
                    continue
                b, m = birth(log), os.stat(log).st_mtime
                steps[(study, step)] += m - b
                first = b if first is None else min(first, b)
                last = m if last is None else max(last, m)
    if first is None:
        sys.exit(f"{root}: no run logs")
    report = os.path.join(root, "report.html")
    end = os.stat(report).st_mtime if os.path.exists(report) else last
    # analysis.json is written when the ladder's statistics are done; the
    # studies' judgements and the report follow it.
    analysis = os.path.join(root, "analysis.json")
    mid = os.stat(analysis).st_mtime if os.path.exists(analysis) else last
    studies = sorted({s for s, _ in steps})
    print(f"{'study':10} {'train':>8} {'eval':>8} {'probe':>8}   (core-seconds)")
    tot = defaultdict(float)
    for s in studies:
        row = [steps.get((s, k), 0.0) for k in ("train", "eval", "probe")]
        for k, v in zip(("train", "eval", "probe"), row):
            tot[k] += v
        print(f"{s:10} {row[0]:8.1f} {row[1]:8.1f} {row[2]:8.1f}")
    print(f"{'all':10} {tot['train']:8.1f} {tot['eval']:8.1f} {tot['probe']:8.1f}")
    print(f"wall: runs {last - first:.1f} s, analysis + report {end - last:.1f} s "
          f"(statistics {mid - last:.1f} s, findings + report {end - mid:.1f} s), total {end - first:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
