"""Shared by the benchmarks: the machine and library report, deterministic postings, timing and JSON results.

Data: every generated posting is one of the shipped seed postings (matchmaker/seed/*.json) with its
wording varied deterministically from its index: sentences reordered or dropped, a varied opening and
closing clause with numbers, some words swapped for synonyms. The same index always gives the same text.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import statistics
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).with_name("results")
SEED = Path(__file__).resolve().parents[1] / "matchmaker" / "seed"
LIBRARIES = (
    "numpy",
    "faiss-cpu",
    "bm25s",
    "rjieba",
    "torch",
    "sentence-transformers",
    "onnxruntime",
    "SQLAlchemy",
    "Flask",
    "gunicorn",
    "locust",
)
SENTENCE = re.compile(r"(?<=[。！？；.!?;])\s*")
SYNONYMS = {
    "系统": "平台",
    "检测": "检验",
    "工厂": "厂区",
    "提升": "提高",
    "降低": "减少",
    "system": "platform",
    "detect": "identify",
    "reduce": "cut",
    "factory": "plant",
    "improve": "raise",
}
OPENINGS_ZH = ["", "我们", "本方案", "针对{n}家企业的经验，", "已在{n}条产线验证，"]
CLOSINGS_ZH = ["", "可在{n}周内上线。", "支持{n}台设备并发接入。", "服务过{n}个客户。", "预算约{n}万元。"]
OPENINGS_EN = ["", "Our team ", "Proven on {n} lines: ", "After {n} projects, "]
CLOSINGS_EN = [
    "",
    " Live in {n} weeks.",
    " Handles {n} machines at once.",
    " Budget around {n}k.",
    " {n} sites served.",
]


def machine() -> dict:
    """Cores, memory, load and library versions of this run."""
    with open("/proc/meminfo") as handle:
        mem_kb = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    cores = len(os.sched_getaffinity(0))
    return {
        "cores": cores,
        "memory_gb": round(mem_kb / 1024**2, 1),
        "python": platform.python_version(),
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
        "libraries": versions,
    }


def print_machine(info: dict) -> None:
    libs = ", ".join(f"{k} {v}" for k, v in info["libraries"].items() if v)
    print(
        f"machine: {info['cores']} cores, {info['memory_gb']} GB, load {info['load_at_start']}; Python {info['python']}"
    )
    print(f"libraries: {libs}")


def seed_postings(kind: str) -> list[dict]:
    """The shipped seed demands or offerings."""
    return json.loads((SEED / f"{kind}s.json").read_text(encoding="utf-8"))


def _vary(text: str, rng: random.Random, chinese: bool) -> str:
    parts = [p for p in SENTENCE.split(text) if p]
    if len(parts) > 2 and rng.random() < 0.5:
        parts.pop(rng.randrange(1, len(parts)))
    if len(parts) > 1:
        head, tail = parts[0], parts[1:]
        rng.shuffle(tail)
        parts = [head, *tail]
    joined = ("" if chinese else " ").join(parts)
    for word, other in SYNONYMS.items():
        if word in joined and rng.random() < 0.5:
            joined = joined.replace(word, other)
    openings, closings = (OPENINGS_ZH, CLOSINGS_ZH) if chinese else (OPENINGS_EN, CLOSINGS_EN)
    n = rng.randint(2, 90)
    return rng.choice(openings).format(n=n) + joined + rng.choice(closings).format(n=n)


def generated(kind: str, count: int, start: int = 0) -> list[dict]:
    """`count` postings of a kind, numbered from `start`, each a reworded seed posting with a unique ref."""
    seeds = seed_postings(kind)
    rows = []
    for i in range(start, start + count):
        base = seeds[i % len(seeds)]
        rng = random.Random(i * 7919 + len(kind))
        chinese = not (base.get("language") or "").startswith("en")
        rows.append(
            {
                **base,
                "ref": f"{kind[0].upper()}-G{i:07d}",
                "title": f"{base['title']} · {i // len(seeds) + 1}",
                "description": _vary(base["description"], rng, chinese),
            }
        )
    return rows


def percentiles(samples_ms: list[float]) -> dict:
    """p50/p95/p99 and mean of latencies in milliseconds."""
    ordered = sorted(samples_ms)

    def pick(q):
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "mean": round(statistics.fmean(ordered), 3)}


def timed(fn, *args, **kwargs):
    """Return fn's result and its wall time in milliseconds."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - start) * 1000


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and by the child processes it has waited for."""
    used = os.times()
    return used.user + used.system + used.children_user + used.children_system


def peak_rss_mb(children: bool = False) -> float:
    """This process's peak resident memory so far (children: the largest of the children it waited for)."""
    import resource

    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def write_results(name: str, info: dict, figures: dict) -> Path:
    """Write one run's machine report and figures to bench/results/<name>-<timestamp>.json."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    info = {**info, "load_at_end": [round(x, 2) for x in os.getloadavg()]}
    report = {"benchmark": name, "machine": info, **figures}
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"results: {path}")
    return path


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def vectors_for(encoder, texts: list[str], encode: int = 2000, noise: float = 0.02) -> tuple[np.ndarray, float]:
    """Embed the first `encode` texts for real; derive the rest from them with seeded noise, re-normalised.

    Encoding a million texts would take hours on two cores; a derived vector sits at cosine ~0.9
    from its source. Returns the vectors and the encoder's texts/s on the real part.
    """
    encode = min(encode, len(texts))
    started = time.perf_counter()
    head = encoder.encode(texts[:encode], kind="document")
    rate = encode / (time.perf_counter() - started)
    if len(texts) == encode:
        return head, rate
    rng = np.random.default_rng(11)
    rest = np.empty((len(texts) - encode, head.shape[1]), dtype=np.float32)
    for start in range(0, len(rest), 50_000):
        part = rest[start : start + 50_000]
        part[:] = head[(np.arange(start, start + len(part)) + encode) % encode]
        part += rng.standard_normal(part.shape, dtype=np.float32) * noise
    return np.vstack([head, unit_rows(rest)]), rate


def populate(app, offerings: int, demands: int, encode: int = 2000) -> dict:
    """Fill the app's empty database with published generated postings and their embeddings, in bulk."""
    import sqlalchemy as sa

    from matchmaker.extensions import db
    from matchmaker.matching.encoders import encoder_from_config
    from matchmaker.matching.text import posting_text
    from matchmaker.models import Demand, Offering, Organization, OrgKind, PostingStatus

    started = time.perf_counter()
    encoder = encoder_from_config(app.config)
    db.create_all()
    orgs = {}
    for kind, org_kind in (("offering", OrgKind.VENDOR), ("demand", OrgKind.MANUFACTURER)):
        batch = [Organization(name=f"{kind} org {i}", kind=org_kind) for i in range(200)]
        db.session.add_all(batch)
        db.session.commit()
        orgs[kind] = [o.id for o in batch]
    now = datetime.now(UTC)
    for kind, model, count in (("offering", Offering, offerings), ("demand", Demand, demands)):
        rows = generated(kind, count)
        vectors, _ = vectors_for(encoder, [posting_text(r["title"], r["description"]) for r in rows], encode)
        for start in range(0, count, 5000):
            chunk = []
            for n, row in enumerate(rows[start : start + 5000], start):
                values = {
                    "ref": row["ref"],
                    "title": row["title"][:200],
                    "description": row["description"],
                    "language": row.get("language", "en"),
                    "scenarios": row.get("scenarios", []),
                    "auto_scenarios": [],
                    "auto_industries": [],
                    "status": PostingStatus.PUBLISHED,
                    "published_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "organization_id": orgs[kind][n % 200],
                    "embedding": vectors[n].tobytes(),
                    "embedding_model": encoder.fingerprint,
                }
                if kind == "offering":
                    values.update(
                        industries_served=row.get("industries_served", []),
                        deployment_modes=row.get("deployment_modes", []),
                        regions=row.get("regions", []),
                        price_min=row.get("price_min"),
                        price_max=row.get("price_max"),
                        capacity=row.get("capacity") or 3,
                    )
                else:
                    values.update(
                        industry=row.get("industry"),
                        city=row.get("city", ""),
                        budget_min=row.get("budget_min"),
                        budget_max=row.get("budget_max"),
                    )
                chunk.append(values)
            db.session.execute(sa.insert(model), chunk)
            db.session.commit()
    return {"offerings": offerings, "demands": demands, "populate_s": round(time.perf_counter() - started, 1)}


def app_in(folder: Path):
    """A Matchmaker app on a SQLite database in folder, configured as a deployment would be."""
    from matchmaker import create_app

    return create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite'}", "DATA_DIR": str(folder), "SECRET_KEY": "b"}
    )


def cli_env(folder: Path) -> dict:
    """Environment for a `matchmaker` command on the app_in(folder) database."""
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}",
        "MATCHMAKER_DATA_DIR": str(folder),
        "SECRET_KEY": "b",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
