"""Measure a 10,000-row spreadsheet import end to end, and what it costs other users of the web server.

Builds a fresh data directory (migrated, seeded), writes a deterministic XLSX of demands with Chinese
headers (the seed's demands in varied wording), then runs the web import as a curator would: a job
is checked and committed by a running `matchmaker run` server's job consumer (`--jobs process`, the
default: the separate worker process the server starts; `--jobs in-process`: consumer threads inside the
web process), while another user's GET requests to the list pages are timed. Prints:

- rows/s of the import (check + commit: parse, domain rules, write, embed, propose) and of the raw
  encoder alone on the same texts, and their ratio;
- the peak resident memory (VmHWM) of the web process, and of the job worker process if there is one;
- p50/p99 latency of the other user's requests while the job runs, and at rest before it.

    python bench/bench_import.py [--rows 10000] [--port 5091] [--jobs process|in-process]
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

SEED = Path(__file__).resolve().parent.parent / "matchmaker" / "seed"
HEADER = ["需求編號", "需求名稱", "需求描述", "企業名稱", "所在城市", "行業", "預算下限", "預算上限"]
OPENINGS = ["", "（二期）", "新增：", "急需", "擴建項目：", "試點：", "升級："]
CLOSINGS = [
    "",
    "希望三個月內試點。",
    "可先在一條產線驗證。",
    "歡迎提供案例。",
    "需要與現有MES對接。",
    "預算可按效果分期支付。",
]
LATENCY_PATHS = ["/demands/", "/offerings/", "/demands/?industry=17"]


def write_sheet(path: Path, rows: int) -> list[str]:
    """Write the XLSX of `rows` demands in varied wording, deterministically; return the texts embedded."""
    from openpyxl import Workbook

    from matchmaker.matching.text import posting_text

    seed = json.loads((SEED / "demands.json").read_text(encoding="utf-8"))
    rng = random.Random(20261202)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("需求清單")
    sheet.append(HEADER)
    texts = []
    for number in range(rows):
        base = seed[number % len(seed)]
        title = f"{rng.choice(OPENINGS)}{base['title']}（第{number // len(seed) + 1}批）"
        description = f"{base['description']}{rng.choice(CLOSINGS)}"
        organization = f"{base['organization']}{'' if number % 5 else ' 分廠' + str(number % 40)}"
        place = [base.get("city", ""), base.get("industry", "")]
        budget = [base.get("budget_min") or "", base.get("budget_max") or ""]
        sheet.append([f"B{number:05d}", title, description, organization, *place, *budget])
        texts.append(posting_text(title, description))
    book.save(path)
    return texts


def raw_encoder_rate(texts: list[str]) -> float:
    """Return texts/s of the configured encoder alone, in the batches the importer uses."""
    from matchmaker.matching.encoders import load_encoder

    encoder = load_encoder()
    encoder.encode(texts[:8])  # load and warm up
    started = time.perf_counter()
    for start in range(0, len(texts), 64):
        encoder.encode(texts[start : start + 64])
    return len(texts) / (time.perf_counter() - started)


def peak_rss_mb(pid: int) -> float:
    """Return a process's peak resident memory in MB (Linux VmHWM)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def get_ms(url: str) -> float:
    """Return how long one GET takes, in ms."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def percentiles(samples: list[float]) -> str:
    """Format p50 and p99 of latency samples."""
    if len(samples) < 2:
        return f"n={len(samples)}"
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {statistics.median(samples):.0f} ms, p99 {cuts[98]:.0f} ms (n={len(samples)})"


class OtherUser(threading.Thread):
    """Request the list pages in a loop, as another visitor would, recording each latency."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base, self.samples, self.stop = base, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            for path in LATENCY_PATHS:
                self.samples.append(get_ms(self.base + path))
            time.sleep(0.05)


def children(pid: int) -> list[int]:
    """Return the ids of a process's live child processes (Linux): workers that exited at once are left out."""
    try:
        found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return [child for child in found if peak_rss_mb(child) == peak_rss_mb(child)]  # a zombie has no VmHWM


def start_server(env: dict, port: int, jobs: str) -> subprocess.Popen:
    """Start `matchmaker run` with its job consumer (`jobs`: process or in-process) and wait until it answers."""
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "matchmaker"), "run", "--port", str(port), "--no-reload", "--no-debugger"],
        env={**env, "MATCHMAKER_JOBS": jobs},
        stdout=subprocess.DEVNULL,
        stderr=(Path(env["MATCHMAKER_DATA_DIR"]) / "server.log").open("ab"),  # the job worker's log too
    )
    for _ in range(600):
        try:
            get_ms(f"http://127.0.0.1:{port}/")
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def run_job(app, job_id: int, status: str, server_pid: int, until: float = float("inf")) -> dict[str, float]:
    """Queue the job for the server's consumers; return the seconds spent in each phase until it ends.

    At the perf_counter() time `until`, stop waiting and return what was seen, with the phase it was in."""
    from matchmaker.extensions import db
    from matchmaker.imports import tasks
    from matchmaker.models import ImportJob

    with app.app_context():
        tasks.ask(db.session.get(ImportJob, job_id), status)
    phases, last, since = {}, None, time.perf_counter()
    reported = since
    while True:
        with app.app_context():
            job = db.session.get(ImportJob, job_id)
            state, phase = job.status, job.phase
        if phase != last:
            now = time.perf_counter()
            if last is not None:
                phases[last] = phases.get(last, 0) + now - since
            last, since = phase, now
        if time.perf_counter() - reported > 30:  # a long run still tells where it is, if it is cut short
            reported = time.perf_counter()
            workers = ", ".join(f"worker peak RSS {peak_rss_mb(c):.0f} MB" for c in children(server_pid))
            print(
                f"  … {status} {phase} {job.done}/{job.total}, server peak RSS {peak_rss_mb(server_pid):.0f} MB"
                + (f", {workers}" if workers else ""),
                flush=True,
            )
        if time.perf_counter() >= until:
            now = time.perf_counter()
            phases[f"{last} (cut)"] = phases.get(f"{last} (cut)", 0) + now - since
            phases["cut"] = 1
            return phases
        if state not in tasks.RUNNING:
            if state not in (tasks.CHECKED, tasks.DONE):
                raise SystemExit(f"the import stopped as {state}: {json.dumps(job.report, ensure_ascii=False)[:2000]}")
            return phases
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=5091)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=float("inf"),
        help="stop measuring this long after the import starts, and print the figures so far",
    )
    parser.add_argument(
        "--jobs", choices=["process", "in-process"], default="process", help="who consumes the job (MATCHMAKER_JOBS)"
    )
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    data = Path(tempfile.mkdtemp(prefix="bench-import-"))
    env = {**os.environ, "MATCHMAKER_DATA_DIR": str(data), "MATCHMAKER_JOBS": "worker"}
    os.environ.update(env)
    cli = str(Path(sys.executable).parent / "matchmaker")
    for command in (["db", "upgrade"], ["seed"]):
        subprocess.run([cli, *command], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    sheet = data / "demands.xlsx"
    texts = write_sheet(sheet, args.rows)
    print(f"sheet: {args.rows} rows, {sheet.stat().st_size / 1e6:.1f} MB; data directory {data}")
    encoder_rate = raw_encoder_rate(texts)
    print(f"raw encoder: {encoder_rate:.0f} texts/s", flush=True)

    from matchmaker import create_app
    from matchmaker.extensions import db
    from matchmaker.imports import tasks
    from matchmaker.models import Role, User

    app = create_app()
    with app.app_context():
        curator = db.session.scalar(db.select(User).where(User.role == Role.CURATOR))
        job = tasks.new_job(curator.id, "demand", sheet.name, lambda path: path.write_bytes(sheet.read_bytes()))
        job_id = job.id

    base = f"http://127.0.0.1:{args.port}"
    server = start_server(env, args.port, args.jobs)
    try:
        at_rest = [get_ms(base + path) for _ in range(10) for path in LATENCY_PATHS]
        memory_before = peak_rss_mb(server.pid)
        other = OtherUser(base)
        other.start()
        started = time.perf_counter()
        until = started + args.max_seconds
        phases = run_job(app, job_id, tasks.CHECKING, server.pid, until)
        checked = time.perf_counter()
        print(f"checked in {checked - started:.1f} s: {args.rows / (checked - started):.0f} rows/s", flush=True)
        if "cut" not in phases:
            committed = run_job(app, job_id, tasks.IMPORTING, server.pid, until)
            if committed.pop("cut", None):
                phases["cut"] = 1
            phases |= {f"commit {k}": v for k, v in committed.items()}
        finished = time.perf_counter()
        other.stop.set()
        other.join()
        memory_after = peak_rss_mb(server.pid)
        worker_memory = [peak_rss_mb(pid) for pid in children(server.pid)]
    finally:
        server.terminate()
        server.wait(timeout=30)

    if phases.pop("cut", None):
        print(f"cut after {args.max_seconds:.0f} s (--max-seconds): the import had not finished")
        print("phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items()))
        print(f"jobs: {args.jobs}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"server peak RSS: {memory_before:.0f} MB before the import, {memory_after:.0f} MB after")
        if worker_memory:
            print("job worker process peak RSS: " + ", ".join(f"{mb:.0f} MB" for mb in worker_memory))
        print(f"other user's GETs at rest: {percentiles(at_rest)}")
        print(f"other user's GETs during the import (so far): {percentiles(other.samples)}")
        return
    with app.app_context():
        job = db.session.get(tasks.ImportJob, job_id)
        created, proposals = len(job.result["created"]), job.result["proposals"]
    elapsed = finished - started
    rate = args.rows / elapsed
    print(
        f"import: {created} demands created, {proposals} proposals, in {elapsed:.1f} s "
        f"(check {checked - started:.1f} s, commit {finished - checked:.1f} s)"
    )
    print("phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items()))
    print(f"rows/s: {rate:.0f} end to end vs {encoder_rate:.0f} texts/s raw encoder (ratio {rate / encoder_rate:.2f})")
    print(f"jobs: {args.jobs}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"server peak RSS: {memory_before:.0f} MB before the import, {memory_after:.0f} MB after")
    if worker_memory:
        print("job worker process peak RSS: " + ", ".join(f"{mb:.0f} MB" for mb in worker_memory))
    print(f"other user's GETs at rest: {percentiles(at_rest)}")
    print(f"other user's GETs during the import: {percentiles(other.samples)}")


if __name__ == "__main__":
    main()
