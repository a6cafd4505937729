"""CLI for the matching engine: match, index status/rebuild and eval."""

from __future__ import annotations

import json
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..models import Demand, Offering, PostingStatus


def _demand_key(demand: Demand) -> str:
    return demand.ref or f"demand-{demand.id}"


def _ranked(ranked: list) -> list[tuple[Demand, list[dict]]]:
    """Return each ranked demand of a page with its offerings, scores and reasons."""
    from flask_babel import get_locale

    from ..matching.explain import reason_text

    locale = str(get_locale())
    return [
        (
            entry.demand,
            [
                {
                    "offering_ref": entry.offerings[cand.id].ref or f"offering-{cand.id}",
                    "score": round(cand.score, 4),
                    "reasons": [reason_text(r, locale) for r in entry.reasons(cand)],
                }
                for cand in entry.top
            ],
        )
        for entry in ranked
    ]


@click.command("match")
@click.option("--all", "all_demands", is_flag=True, help="Rank offerings for every published demand.")
@click.option("--demand", "demand_ref", help="Rank offerings for the demand with this ref.")
@click.option("--top", "top_k", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
@with_appcontext
def match_command(all_demands: bool, demand_ref: str | None, top_k: int, fmt: str) -> None:
    """Print the best offerings for published demands, with scores and reasons, as each demand is ranked."""
    if all_demands == bool(demand_ref):
        raise click.UsageError("Give either --all or --demand REF.")
    if demand_ref:
        demand = db.session.scalar(sa.select(Demand).where(Demand.ref == demand_ref))
        if demand is None:
            raise click.ClickException(f"No demand with ref {demand_ref!r}.")
        if demand.status is not PostingStatus.PUBLISHED:
            raise click.ClickException(f"Demand {demand_ref!r} is {demand.status.value}, not published.")
        pages = iter([[demand]])
    else:
        from ..matching.service import published_demand_pages

        pages = published_demand_pages(forget=True)  # a page at a time: output streams and memory stays bounded
    from ..matching.service import rank_demand_pages

    separator = "{"
    for page in rank_demand_pages(pages, top_k):
        for demand, ranked in _ranked(page):
            key = _demand_key(demand)
            if fmt == "json":
                click.echo(f"{separator}\n  {json.dumps(key, ensure_ascii=False)}: ", nl=False)
                click.echo(json.dumps(ranked, ensure_ascii=False), nl=False)
                separator = ","
                continue
            click.echo(key)
            for item in ranked:
                click.echo(f"  {item['score']:.3f}  {item['offering_ref']}  " + " | ".join(item["reasons"][:2]))
    if fmt == "json":
        click.echo("{}" if separator == "{" else "\n}")


@click.group("index")
def index_group() -> None:
    """Inspect or rebuild the search indexes."""


@index_group.command("status")
@with_appcontext
def index_status() -> None:
    """Show what the index holds and what the database has to index."""
    from ..matching.engine import get_engine

    engine = get_engine(current_app._get_current_object())
    engine.sync()
    status = engine.status()
    for label, model in (("demands", Demand), ("offerings", Offering)):
        published = db.session.scalar(sa.select(sa.func.count(model.id)).where(model.status == PostingStatus.PUBLISHED))
        stale = db.session.scalar(
            sa.select(sa.func.count(model.id)).where(
                model.status == PostingStatus.PUBLISHED,
                sa.or_(model.embedding_model.is_(None), model.embedding_model != engine.fingerprint),
            )
        )
        click.echo(f"{label}: {status[label]} indexed, {published} published, {stale} need embedding")
    click.echo(f"model: {status['fingerprint']}")
    click.echo(
        f"watermark: {status['watermark']}  snapshot: {status['snapshot']}"
        f"{' (loaded at start)' if engine.loaded_from_snapshot else ''}"
    )


@index_group.command("rebuild")
@with_appcontext
def index_rebuild() -> None:
    """Embed what the current model has not, rebuild the indexes and write a fresh snapshot."""
    from ..matching.engine import rebuild_engine

    result = rebuild_engine(current_app._get_current_object(), progress=click.echo)
    click.echo(
        f"rebuilt: {result['demands']} demands, {result['offerings']} offerings indexed; "
        f"{result['embedded']} embedded with {result['fingerprint']}"
    )


@click.command("eval")
@click.option(
    "--set",
    "set_names",
    multiple=True,
    help="A shipped set name (bilingual, paraphrase_zh) or a folder in the import format. Default: all shipped.",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Encoder to evaluate (repeatable). Default: use-multilingual-v3 and the configured model.",
)
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
@with_appcontext
def eval_command(set_names: tuple[str, ...], models: tuple[str, ...], fmt: str) -> None:
    """Print nDCG@10, recall@5 and MRR per language pair for dense, lexical and full ranking."""
    from ..matching.encoders import USE_NAME, encoder_from_config, load_encoder
    from ..matching.evaluation import builtin_sets, evaluate, format_table, load_set
    from ..matching.ranking import RankingWeights

    shipped = builtin_sets()
    folders = [shipped.get(name) or Path(name) for name in set_names] or list(shipped.values())
    for folder in folders:
        if not (folder / "qrels.tsv").exists():
            raise click.ClickException(f"{folder}: not an evaluation set (needs demands.csv, offerings.csv, qrels.tsv)")
    configured = current_app.config["MATCHMAKER_EMBEDDING_MODEL"]
    names = list(dict.fromkeys(models or (USE_NAME, configured)))
    weights = RankingWeights.from_config(current_app.config)
    report = {}
    for name in names:
        try:
            # the configured model is evaluated as it is deployed: with its prompts and backend
            encoder = encoder_from_config(current_app.config) if name == configured else load_encoder(name)
        except Exception as exc:  # a model that is not installed here is reported, not fatal
            click.echo(f"skipping encoder {name}: {exc}", err=True)
            continue
        for folder in folders:
            evalset = load_set(folder)
            click.echo(
                f"evaluating {name} on {folder.name}: {len(evalset.demands)} demands, "
                f"{len(evalset.offerings)} offerings",
                err=True,
            )
            results = evaluate(evalset, encoder, weights, progress=lambda m: click.echo(f"  {m}", err=True))
            report.setdefault(name, {})[folder.name] = results
            if fmt == "text":
                click.echo(format_table(name, folder.name, results) + "\n")
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
