"""Measure how long publishing a posting takes until it is searchable and proposed (target: < 1 s).

Loads the shipped bilingual evaluation set (x --scale copies) into a fresh SQLite database, then
publishes new demands and offerings through the domain layer, as the web UI does, and times each
publish call (commit, tagging, embedding, index update, proposals) and the search that finds it.

    python bench/bench_publish.py [--scale 5] [--runs 10]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa


def _load_corpus(app, scale: int) -> tuple[int, int]:
    """Import (and so index, without proposing) the evaluation set's postings `scale` times under distinct refs."""
    import csv

    from matchmaker.domain.importing import import_postings
    from matchmaker.extensions import db
    from matchmaker.matching.evaluation import builtin_sets
    from matchmaker.models import Demand, Offering

    folder = builtin_sets()["bilingual"]
    for kind, name in (("offering", "offerings.csv"), ("demand", "demands.csv")):
        with (folder / name).open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        for copy in range(scale):
            path = Path(app.config["DATA_DIR"]) / f"{copy}-{name}"
            with path.open("w", encoding="utf-8", newline="") as out:
                writer = csv.DictWriter(out, fieldnames=["ref", "title", "description", "organization", "language"])
                writer.writeheader()
                for row in rows:
                    writer.writerow(
                        {
                            "ref": f"{row['ref']}-{copy}",
                            "title": row["title"],
                            "description": row["description"],
                            "organization": row["organization"],
                            "language": row["language"],
                        }
                    )
            import_postings(kind, path, propose=False)
    return (
        db.session.scalar(sa.select(sa.func.count(Demand.id))),
        db.session.scalar(sa.select(sa.func.count(Offering.id))),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=5)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    from matchmaker import create_app
    from matchmaker.domain import postings
    from matchmaker.extensions import db
    from matchmaker.matching.service import search
    from matchmaker.models import Match, Organization, OrgKind, User

    data_dir = Path(tempfile.mkdtemp(prefix="mm-bench-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{data_dir / 'bench.sqlite'}",
            "DATA_DIR": str(data_dir),
            "SECRET_KEY": "bench",
        }
    )
    with app.app_context():
        db.create_all()
        start = time.perf_counter()
        demands, offerings = _load_corpus(app, args.scale)
        print(f"corpus: {demands} demands, {offerings} offerings indexed in {time.perf_counter() - start:.1f} s")
        users = {}
        for kind in (OrgKind.MANUFACTURER, OrgKind.VENDOR):
            org = Organization(name=f"Bench {kind.value}", kind=kind, city="佛山")
            users[kind] = User(email=f"{kind.value}@bench.test", organization=org, password_hash="x")
            db.session.add(users[kind])
        db.session.commit()
        timings = {"demand": [], "offering": []}
        for run in range(args.runs):
            for kind, model_input, create in (
                (
                    "demand",
                    postings.DemandInput(
                        title=f"布面瑕疵检测 {run}",
                        description="布面上的跳纱、破洞全靠老师傅肉眼看",
                        city="佛山",
                        industry="17",
                    ),
                    postings.create_demand,
                ),
                (
                    "offering",
                    postings.OfferingInput(
                        title=f"Fabric defect detection {run}",
                        description="Line-scan cameras find holes on woven fabric.",
                    ),
                    postings.create_offering,
                ),
            ):
                user = users[OrgKind.MANUFACTURER if kind == "demand" else OrgKind.VENDOR]
                posting = create(user, model_input)
                begin = time.perf_counter()
                postings.publish(user, posting)
                found = any(h.posting.id == posting.id for h in search(posting.title, (kind,)))
                timings[kind].append(time.perf_counter() - begin)
                assert found, f"published {kind} {posting.id} was not searchable"
        proposals = db.session.scalar(sa.select(sa.func.count(Match.id)))
        for kind, values in timings.items():
            print(
                f"publish {kind} → searchable and proposed: median {statistics.median(values) * 1000:.0f} ms, "
                f"max {max(values) * 1000:.0f} ms over {len(values)} runs (target < 1000 ms)"
            )
        print(f"proposals stored: {proposals}")


if __name__ == "__main__":
    main()
