"""Benchmark: a fresh worker's time to its first match, with the index snapshot present and after deleting it.

    python bench/bench_startup.py [--offerings 100000] [--demands 1000]

Fills a fresh SQLite database (bench/benchlib.py: populate), writes the snapshot with
`matchmaker index rebuild`, then starts new processes that each create the app, rank offerings for
one demand and report the seconds from process start and their peak resident memory: once with the
snapshot, once after the snapshot is deleted (the worker rebuilds the index from the database).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import app_in, cli_env, machine, populate, print_machine, write_results

WORKER = """
import json, resource, sys, time
started = time.perf_counter()
from matchmaker import create_app
import sqlalchemy as sa
app = create_app()
with app.app_context():
    from matchmaker.extensions import db
    from matchmaker.matching.engine import get_engine
    from matchmaker.matching.service import top_offerings
    from matchmaker.models import Demand
    demand = db.session.scalars(sa.select(Demand).limit(1)).one()
    ranked = top_offerings(demand, 5)
    engine = get_engine(app)
    print(json.dumps({
        "first_match_s": round(time.perf_counter() - started, 2),
        "loaded_from_snapshot": engine.loaded_from_snapshot,
        "proposals": len(ranked),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))
"""


def worker(env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", WORKER], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offerings", type=int, default=100_000)
    parser.add_argument("--demands", type=int, default=1000)
    parser.add_argument("--reuse", type=Path, help="a folder an earlier run filled: skip filling it again")
    args = parser.parse_args()
    info = machine()
    print_machine(info)
    folder = args.reuse or Path(tempfile.mkdtemp(prefix="mm-startup-"))
    if args.reuse:
        figures = {"offerings": args.offerings, "demands": args.demands, "reused": str(folder)}
    else:
        app = app_in(folder)
        with app.app_context():
            figures = populate(app, args.offerings, args.demands)
    env = cli_env(folder)
    subprocess.run([str(Path(sys.executable).with_name("matchmaker")), "index", "rebuild"], env=env, check=True)
    snapshot = folder / "index"
    figures["snapshot_mb"] = round(sum(f.stat().st_size for f in snapshot.glob("*.npz")) / 1024**2, 1)
    figures["with_snapshot"] = worker(env)
    shutil.rmtree(snapshot)
    figures["without_snapshot"] = worker(env)
    figures["snapshot_rewritten"] = snapshot.is_dir() and bool(os.listdir(snapshot))
    for key, value in figures.items():
        print(f"  {key}: {value}")
    write_results("startup", info, {"args": vars(args), **figures})


if __name__ == "__main__":
    main()
