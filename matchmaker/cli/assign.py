"""`assign`: propose a capacity-aware batch of shortlists, and apply it on request."""

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..domain.accounts import find_user_by_email
from ..domain.assignment import (
    DEFAULT_ALTERNATES,
    DEFAULT_PER_DEMAND,
    AssignmentProblem,
    AssignmentResult,
    apply_assignment,
    load_problem,
    solve,
)


@click.command("assign")
@click.option(
    "--per-demand",
    default=DEFAULT_PER_DEMAND,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many vendors each demand should be shortlisted with.",
)
@click.option(
    "--alternates",
    default=DEFAULT_ALTERNATES,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many runner-up pairs to list per demand.",
)
@click.option(
    "--rankings",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON list of {demand_id, offering_id, score} engine rankings to consider as well.",
)
@click.option("--apply", "apply_", is_flag=True, help="Shortlist the chosen pairs (needs --curator).")
@click.option("--curator", "curator_email", help="Email of the curator the audit trail records as the actor.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@with_appcontext
def assign_command(
    per_demand: int, alternates: int, rankings: Path | None, apply_: bool, curator_email: str | None, output: str
) -> None:
    """Propose which vendors to shortlist for each demand, within every vendor's capacity."""
    curator = _curator(curator_email) if apply_ else None
    problem = load_problem(per_demand=per_demand, rankings=_read_rankings(rankings), alternates=alternates)
    result = solve(problem)
    report = apply_assignment(result.assignments, curator) if apply_ else None
    if output == "json":
        data = result.to_dict()
        if report is not None:
            data["applied"] = {
                "shortlisted": [m.id for m in report.shortlisted],
                "unchanged": [m.id for m in report.unchanged],
                "failures": report.failures,
            }
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(format_text(problem, result))
    if report is not None:
        click.echo(f"Shortlisted {len(report.shortlisted)} matches; {len(report.unchanged)} were already shortlisted.")
        for failure in report.failures:
            click.echo(f"Could not shortlist {failure}", err=True)


def _curator(email: str | None):
    """Return the curator named by --curator, or stop with a usage error."""
    if not email:
        raise click.UsageError("--apply needs --curator EMAIL so the audit trail records who shortlisted.")
    user = find_user_by_email(email)
    if user is None or not user.is_curator:
        raise click.UsageError(f"{email} is not a curator.")
    return user


def _read_rankings(path: Path | None) -> list[tuple[int, int, float]]:
    """Read engine rankings from a JSON file, if one was given."""
    if path is None:
        return []
    try:
        rows = json.loads(path.read_text("utf-8"))
        return [(int(r["demand_id"]), int(r["offering_id"]), float(r["score"])) for r in rows]
    except (ValueError, KeyError, TypeError) as error:
        raise click.BadParameter(
            f"expected a JSON list of {{demand_id, offering_id, score}}: {error}", param_hint="--rankings"
        ) from None


def format_text(problem: AssignmentProblem, result: AssignmentResult) -> str:
    """Render the assignment for a terminal: per demand, the chosen vendors, then alternates and advice."""
    lines = [
        f"Assignment: {len(result.assignments)} pairs for {len(problem.demands)} demands, "
        f"{result.per_demand} per demand, total score {result.total_score:.3f}"
    ]
    for demand_id, demand in sorted(problem.demands.items()):
        lines.append(f"Demand #{demand_id} {demand.title}")
        lines += [f"  + {_pair(problem, c)}" for c in result.chosen_for(demand_id)]
        lines += [
            f"  alternate {_pair(problem, a.candidate)}{' (spare capacity)' if a.spare else ''}"
            for a in result.alternates.get(demand_id, [])
        ]
        if demand_id in result.unmet:
            lines.append(f"  ! {result.unmet[demand_id]} more vendor(s) wanted")
    lines += [f"! {message}" for message in result.messages]
    return "\n".join(lines)


def _pair(problem: AssignmentProblem, candidate) -> str:
    """Render one pair: offering, score and the match it comes from."""
    offering = problem.offerings[candidate.offering_id]
    source = f"match {candidate.match_id}" if candidate.match_id else "engine ranking"
    return f"offering #{offering.id} {offering.title}  score {candidate.score:.3f}  [{source}]"
