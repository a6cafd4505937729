"""Benchmark: `matchmaker match --all` for D demands against O offerings: wall time and peak memory.

    python bench/bench_batch.py [--demands 1000] [--offerings 10000]   # the issue's size: 10000 100000

Fills a fresh SQLite database with published reworded seed postings and their embeddings
(bench/benchlib.py: populate), builds the index snapshot with `matchmaker index rebuild`, then runs
the real `matchmaker match --all --format json` in its own process with its output streamed to a
file, and reports its wall time, its peak resident memory and the ms per demand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import app_in, cli_env, machine, populate, print_machine, write_results

MATCHMAKER = Path(sys.executable).with_name("matchmaker")


def run(command: list[str], env: dict, output) -> tuple[float, float, float]:
    """Run a matchmaker command; return its wall seconds, its own peak RSS in MB and its CPU seconds.

    The figures are the command's alone (wait4 on its process), not the largest of every child so far.
    CPU seconds (user + system) say what the command costs when other work shares the cores.
    """
    started = time.perf_counter()
    process = subprocess.Popen([str(MATCHMAKER), *command], env=env, stdout=output)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return seconds, round(usage.ru_maxrss / 1024, 1), round(usage.ru_utime + usage.ru_stime, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demands", type=int, default=1000)
    parser.add_argument("--offerings", type=int, default=10000)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    info = machine()
    print_machine(info)
    folder = Path(tempfile.mkdtemp(prefix="mm-batch-"))
    app = app_in(folder)
    with app.app_context():
        figures = populate(app, args.offerings, args.demands)
    print(f"populated {args.offerings} offerings, {args.demands} demands in {figures['populate_s']} s")
    env = cli_env(folder)
    rebuild_s, rebuild_mb, rebuild_cpu = run(["index", "rebuild"], env, subprocess.DEVNULL)
    out = folder / "matches.json"
    with out.open("w") as handle:
        match_s, match_mb, match_cpu = run(["match", "--all", "--top", str(args.top), "--format", "json"], env, handle)
    ranked = json.loads(out.read_text())
    figures.update(
        {
            "index_rebuild_s": round(rebuild_s, 1),
            "index_rebuild_cpu_s": rebuild_cpu,
            "match_all_s": round(match_s, 1),
            "match_all_cpu_s": match_cpu,
            "ms_per_demand": round(1000 * match_s / max(1, args.demands), 1),
            "demands_ranked": len(ranked),
            "peak_rss_mb_rebuild": rebuild_mb,
            "peak_rss_mb_match_all": match_mb,
            "output_mb": round(out.stat().st_size / 1024**2, 1),
        }
    )
    for key, value in figures.items():
        print(f"  {key}: {value}")
    write_results("batch", info, {"args": vars(args), **figures})


if __name__ == "__main__":
    main()
