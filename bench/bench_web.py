"""Benchmark: the real server (gunicorn) under locust, signed-in people browsing, searching and reviewing.

    python bench/bench_web.py [--users 50] [--duration 120] [--database-url postgresql+psycopg://…]

Prepares a database (a SQLite file in a new folder by default; `--database-url` for PostgreSQL, which
must be empty unless `--reset` is given): migrated, the demo seed, then `--offerings` and `--demands`
generated postings (bench/benchlib.py: populate), proposals for the demands of the benchmark's
factories, a third of them introduced, and `--users` accounts (factories, vendors and curators, 2:2:1)
in the organisations that have matches. Starts gunicorn with gunicorn.conf.py (`--workers` processes of
`--threads` threads; each worker loads its index before it takes requests), then runs locust headless
(bench/locust_web.py) with `--users` people, each signing in once and then, with `--think` seconds
between steps, opening the dashboard, lists, posting pages, notifications, searching, and, by role,
the curation queue and a match to shortlist/introduce/reject, or their introductions to accept/decline.

Prints throughput, p50/p95/p99 per group (pages, search, actions; auth apart), errors (5xx, unexpected
4xx, failed connections) and conflicts (409: a step someone else took first), the slowest request
names, the workers' peak memory, the machine and library versions; writes bench/results/web-*.json.
The run stops by itself after `--duration` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

from benchlib import machine, percentiles, populate, print_machine, write_results

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "bench-web-password-1"
CURATOR_ORG = "香港智造創新促進中心"  # the seed's promotion agency
TARGET_P99_MS = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(args, folder: Path) -> dict:
    """The environment of every process of the run: the CLI steps, the preparation and the server."""
    return {
        **os.environ,
        "DATABASE_URL": args.database_url or f"sqlite:///{folder / 'bench.sqlite'}",
        "MATCHMAKER_DATA_DIR": str(folder),
        "SECRET_KEY": "bench-web",
        "MATCHMAKER_JOBS": "worker",
        # every simulated person signs in from 127.0.0.1: the per-address limit would refuse most of them
        "MATCHMAKER_LOGIN_RATE_LIMIT": "100000 per minute",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }


def reset_database(url: str, reset: bool) -> None:
    """Refuse a PostgreSQL database that has tables, unless told to empty it."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        tables = sa.inspect(connection).get_table_names()
        if tables and not reset:
            raise SystemExit(f"{url} has {len(tables)} tables; give --reset to empty it (everything in it is lost)")
        if tables:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def prepare(args, env: dict) -> dict:
    """Migrate, seed, add generated postings, proposals and the people; return what was made and their accounts."""
    started = time.perf_counter()
    for command in (["db", "upgrade"], ["seed"]):
        done = subprocess.run([str(BIN / "matchmaker"), *command], env=env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"matchmaker {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    os.environ.update(env)

    import sqlalchemy as sa

    from matchmaker import create_app
    from matchmaker.domain import workflow
    from matchmaker.extensions import db
    from matchmaker.matching import service
    from matchmaker.matching.engine import get_engine
    from matchmaker.models import Demand, Match, MatchStatus, Offering, Organization
    from matchmaker.seeding import load_seed

    app = create_app()
    factories = max(1, args.users * 2 // 5)
    vendors = max(1, args.users * 2 // 5)
    curators = max(1, args.users - factories - vendors)
    with app.app_context():
        made = populate(app, args.offerings, args.demands)
        org_ids = db.session.scalars(
            sa.select(Organization.id).where(Organization.name.like("demand org %")).order_by(Organization.id)
        ).all()[:factories]
        demands = db.session.scalars(sa.select(Demand).where(Demand.organization_id.in_(org_ids))).all()
        proposing = time.perf_counter()
        proposed = sum(len(service.propose_for_demand(demand)) for demand in demands)
        made["proposals"] = proposed
        made["propose_s"] = round(time.perf_counter() - proposing, 1)
        matches = db.session.scalars(
            sa.select(Match).where(Match.status == MatchStatus.PROPOSED).order_by(Match.id)
        ).all()
        for match in matches[::3]:
            workflow.apply(match, "introduce", None)
        made["introduced"] = len(matches[::3])
        vendor_orgs = db.session.execute(
            sa.select(Organization.name, sa.func.count(Match.id))
            .join(Offering, Offering.organization_id == Organization.id)
            .join(Match, Match.offering_id == Offering.id)
            .where(Organization.name.like("offering org %"))
            .group_by(Organization.name)
            .order_by(sa.func.count(Match.id).desc(), Organization.name)
        ).all()[:vendors]
        factory_orgs = db.session.scalars(sa.select(Organization.name).where(Organization.id.in_(org_ids))).all()
        people = (
            [("factory", name) for name in factory_orgs]
            + [("vendor", name) for name, _ in vendor_orgs]
            + [("curator", CURATOR_ORG)] * curators
        )
        accounts, rows = [], []
        for number, (role, org) in enumerate(people):
            email = f"{role}{number}@bench.example"
            rows.append(
                {
                    "email": email,
                    "name": f"Bench {role} {number}",
                    "password": PASSWORD,
                    "organization": org,
                    "role": "curator" if role == "curator" else "member",
                }
            )
            accounts.append({"email": email, "password": PASSWORD, "role": role})
        seed_dir = Path(env["MATCHMAKER_DATA_DIR"]) / "bench-people"
        seed_dir.mkdir(exist_ok=True)
        for name, content in (
            ("organizations.json", []),
            ("users.json", rows),
            ("demands.json", []),
            ("offerings.json", []),
        ):
            (seed_dir / name).write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
        load_seed(seed_dir, echo=lambda message: None)
        get_engine(app).save_snapshot()  # workers start from it instead of rebuilding the index each
        made["matches"] = db.session.scalar(sa.select(sa.func.count(Match.id)))
        made["accounts"] = {
            role: sum(1 for a in accounts if a["role"] == role) for role in ("factory", "vendor", "curator")
        }
    made["prepare_s"] = round(time.perf_counter() - started, 1)
    return {"made": made, "accounts": accounts}


def start_server(args, env: dict, folder: Path) -> tuple[subprocess.Popen, str, Path]:
    """Start gunicorn with the checkout's gunicorn.conf.py and wait until both workers answer."""
    port = free_port()
    log = folder / "gunicorn.log"
    command = [
        str(BIN / "gunicorn"),
        *("--config", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"),
        *("--workers", str(args.workers), "--threads", str(args.threads)),
        "wsgi:app",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    while time.perf_counter() - started < 600:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited at start:\n{log.read_text()[-3000:]}")
        if log.read_text().count("warmed up") >= args.workers:
            try:
                urllib.request.urlopen(base + "/auth/login", timeout=10).read()
                took = time.perf_counter() - started
                print(f"server: {args.workers} workers × {args.threads} threads up in {took:.1f} s")
                return process, base, log
            except OSError:
                pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("gunicorn did not come up within 10 minutes")


def workers_of(server: subprocess.Popen) -> list[str]:
    try:
        return Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        return []


def cpu_seconds(pids: list[str]) -> float:
    """User + system CPU time the processes have used so far (every thread), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def worker_memory_mb(server: subprocess.Popen) -> list[float]:
    """Peak resident memory (VmHWM) of each gunicorn worker, in MB."""
    peaks = []
    for pid in workers_of(server):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(round(int(line.split()[1]) / 1024, 1))
    return peaks


def run_locust(args, base: str, folder: Path, accounts: list[dict]) -> Path:
    users_file, samples = folder / "accounts.json", folder / "samples.jsonl"
    users_file.write_text(json.dumps(accounts))
    samples.write_text("")
    env = {
        **os.environ,
        "BENCH_WEB_USERS": str(users_file),
        "BENCH_WEB_SAMPLES": str(samples),
        "BENCH_WEB_THINK": args.think,
    }
    command = [
        str(BIN / "locust"),
        *("-f", str(ROOT / "bench" / "locust_web.py"), "--headless", "--host", base),
        *("--users", str(args.users), "--spawn-rate", str(max(1, args.users / 10))),
        *("--run-time", f"{args.duration}s", "--stop-timeout", "30", "--only-summary", "--loglevel", "WARNING"),
    ]
    print(f"locust: {args.users} people for {args.duration} s, {args.think} s between steps", flush=True)
    subprocess.run(command, env=env, cwd=folder, stdout=(folder / "locust.log").open("w"), stderr=subprocess.STDOUT)
    return samples


def summarise(samples: Path, duration: float) -> dict:
    """Figures over the whole run, and over its steady part: from the last sign-in on, everyone signed in."""
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    figures = _figures(rows, duration)
    signed_in = max((row[5] for row in rows if row[0] == "auth"), default=0)
    end = max((row[5] for row in rows), default=0)
    steady = [row for row in rows if row[5] > signed_in]
    if steady and end > signed_in:
        figures["steady"] = {"from_s": round(signed_in - min(row[5] for row in rows), 1)}
        figures["steady"].update(_figures(steady, end - signed_in))
    return figures


def _figures(rows: list, duration: float) -> dict:
    groups, names = defaultdict(list), defaultdict(list)
    errors, conflicts, statuses = defaultdict(int), defaultdict(int), defaultdict(int)
    error_examples = []
    for group, name, ms, status, outcome, _finished in rows:
        groups[group].append(ms)
        names[(group, name)].append(ms)
        statuses[str(status)] += 1
        if outcome == "error":
            errors[group] += 1
            if len(error_examples) < 10:
                error_examples.append([group, name, status])
        elif outcome == "conflict":
            conflicts[group] += 1
    total = sum(len(v) for v in groups.values())
    figures = {
        "requests": total,
        "throughput_rps": round(total / duration, 1),
        "errors": sum(errors.values()),
        "error_examples": error_examples,
        "statuses": dict(sorted(statuses.items())),
        "groups": {
            group: {"requests": len(ms), "errors": errors[group], "conflicts": conflicts[group], **percentiles(ms)}
            for group, ms in sorted(groups.items())
        },
        "slowest": sorted(
            ({"group": g, "name": n, "requests": len(ms), **percentiles(ms)} for (g, n), ms in names.items()),
            key=lambda row: -row["p99"],
        )[:8],
    }
    return figures


def print_groups(groups: dict) -> None:
    for group, row in groups.items():
        verdict = "" if group == "auth" else (" (target met)" if row["p99"] <= TARGET_P99_MS else " (target missed)")
        print(
            f"  {group:8} n={row['requests']:6} p50 {row['p50']:7.1f}  p95 {row['p95']:7.1f}  "
            f"p99 {row['p99']:7.1f} ms  errors {row['errors']}  conflicts {row['conflicts']}{verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=120, help="seconds of load")
    parser.add_argument("--database-url", default="", help="a PostgreSQL database to use (default: a new SQLite file)")
    parser.add_argument("--reset", action="store_true", help="empty the --database-url database first")
    parser.add_argument("--offerings", type=int, default=10_000)
    parser.add_argument("--demands", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--think", default="1-3", help="seconds each person waits between steps, e.g. 1-3 or 0")
    parser.add_argument("--keep", action="store_true", help="keep the data folder (the logs and samples)")
    args = parser.parse_args()
    info = machine()
    print_machine(info)
    folder = Path(tempfile.mkdtemp(prefix="mm-web-"))
    env = server_env(args, folder)
    if args.database_url:
        reset_database(args.database_url, args.reset)
    prepared = prepare(args, env)
    print(f"data: {prepared['made']}", flush=True)
    server, base, log = start_server(args, env, folder)
    try:
        started, workers = time.perf_counter(), workers_of(server)
        cpu_before = cpu_seconds(workers)
        samples = run_locust(args, base, folder, prepared["accounts"])
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(workers) - cpu_before
        memory = worker_memory_mb(server)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    figures = summarise(samples, args.duration)
    figures["server_errors_logged"] = log.read_text().count("Traceback")
    figures["worker_peak_rss_mb"] = memory
    # What the server itself spent, which other work on the machine does not inflate (its latency it does).
    figures["server_cpu_s"] = round(server_cpu, 1)
    figures["server_cpu_ms_per_request"] = round(1000 * server_cpu / max(1, figures["requests"]), 1)
    figures["server_cores_busy"] = round(server_cpu / elapsed, 2)
    figures["wall_s"] = round(elapsed, 1)
    database = "postgresql" if args.database_url else "sqlite"
    print(
        f"{database}: {figures['requests']} requests in {args.duration} s, {figures['throughput_rps']} req/s, "
        f"errors {figures['errors']}, statuses {figures['statuses']}"
    )
    print_groups(figures["groups"])
    if "steady" in figures:
        steady = figures["steady"]
        print(
            f"steady part (from {steady['from_s']} s, everyone signed in): {steady['requests']} requests, "
            f"{steady['throughput_rps']} req/s, errors {steady['errors']}"
        )
        print_groups(steady["groups"])
    print("slowest (by p99):")
    for row in figures["slowest"]:
        print(
            f"  {row['group']:8} {row['name']:45} n={row['requests']:5} p50 {row['p50']:7.1f} p99 {row['p99']:7.1f} ms"
        )
    if figures["error_examples"]:
        print(f"errors, first ones: {figures['error_examples']}")
    print(f"worker peak RSS: {memory} MB; tracebacks in the server log: {figures['server_errors_logged']}")
    print(
        f"server CPU: {figures['server_cpu_s']} s over the run, {figures['server_cpu_ms_per_request']} ms a request, "
        f"{figures['server_cores_busy']} cores busy on average"
    )
    print(f"load average at end: {[round(x, 2) for x in os.getloadavg()]}")
    write_results(
        "web",
        info,
        {
            "database": database,
            "args": {**vars(args), "database_url": bool(args.database_url)},
            **prepared["made"],
            **figures,
        },
    )
    if args.keep:
        print(f"kept: {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
