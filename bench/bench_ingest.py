"""Benchmark: `matchmaker import` end to end against the raw encoder on the same texts.

    python bench/bench_ingest.py [--sizes 2000,10000] [--kind offerings]

For each size it writes a CSV of reworded seed postings (bench/benchlib.py), runs the real
`matchmaker import KIND FILE --no-propose` command in a fresh SQLite database (parse, validate,
normalise, segment, tag, embed, store, index) and times it; then it times the encoder the project
uses, called directly on the same posting texts. The ratio is import throughput / raw throughput
(target >= 0.8). Peak memory is this process's, which ran both. On a shared machine the wall-clock
ratio moves with the load; the CPU seconds of both (and their ratio) are printed beside it. An import
of 4,096 postings or more embeds in a child process (matchmaker/matching/ahead.py): its CPU seconds
count in the import's, and its peak memory is printed as encoder_child_peak_rss_mb.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

from benchlib import cpu_seconds, generated, machine, peak_rss_mb, print_machine, write_results

from matchmaker import create_app
from matchmaker.extensions import db
from matchmaker.matching.encoders import encoder_from_config
from matchmaker.matching.engine import forget_engines
from matchmaker.matching.text import posting_text, to_simplified

FIELDS = ("ref", "title", "description", "organization", "language", "scenarios", "regions", "capacity")


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for row in rows:
            values = {name: row.get(name, "") for name in FIELDS}
            values["scenarios"] = ";".join(row.get("scenarios", []))
            values["regions"] = ";".join(row.get("regions", []))
            writer.writerow(values)


def run_size(size: int, kind: str) -> dict:
    print(f"\n== {size} {kind}")
    folder = Path(tempfile.mkdtemp(prefix="mm-ingest-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite'}",
            "DATA_DIR": str(folder),
            "SECRET_KEY": "bench",
        }
    )
    rows = generated(kind[:-1], size)
    path = folder / f"{kind}.csv"
    write_csv(path, rows)
    with app.app_context():
        db.create_all()
        encoder = encoder_from_config(app.config)
        encoder.encode(["warm up"])
        forget_engines()
        runner = app.test_cli_runner()
        started, cpu = time.perf_counter(), cpu_seconds()
        result = runner.invoke(args=["import", kind, str(path), "--no-propose"])
        import_s, import_cpu_s = time.perf_counter() - started, cpu_seconds() - cpu
        assert result.exit_code == 0, result.output
        print(" ", result.output.strip().splitlines()[-1])
    texts = [posting_text(r["title"], r["description"]) for r in rows]
    model = getattr(encoder, "_model", encoder)  # the backend itself, below the project's wrapper
    raw_texts = [to_simplified(t) for t in texts] if hasattr(model, "tokenize") else texts
    started, cpu = time.perf_counter(), cpu_seconds()
    model.encode(raw_texts, batch_size=encoder.batch_size)
    raw_s, raw_cpu_s = time.perf_counter() - started, cpu_seconds() - cpu
    figures = {
        "postings": size,
        "import_s": round(import_s, 2),
        "import_per_s": round(size / import_s, 1),
        "raw_encoder_s": round(raw_s, 2),
        "raw_encoder_per_s": round(size / raw_s, 1),
        "ratio": round(raw_s / import_s, 3),
        # CPU seconds (every thread of this process): what the ratio would be on an idle machine's cores
        "import_cpu_s": round(import_cpu_s, 2),
        "raw_encoder_cpu_s": round(raw_cpu_s, 2),
        "cpu_ratio": round(raw_cpu_s / import_cpu_s, 3),
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mb": peak_rss_mb(),
        "encoder_child_peak_rss_mb": peak_rss_mb(children=True),
    }
    for key, value in figures.items():
        print(f"  {key}: {value}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,10000", help="posting counts, e.g. 10000,100000,1000000")
    parser.add_argument("--kind", choices=("offerings", "demands"), default="offerings")
    args = parser.parse_args()
    info = machine()
    print_machine(info)
    results = [run_size(int(s), args.kind) for s in args.sizes.split(",")]
    write_results("ingest", info, {"args": vars(args), "sizes": results})


if __name__ == "__main__":
    main()
