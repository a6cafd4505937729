"""`matchmaker import`: postings from a CSV, XLSX or JSON file, with a progress bar on stderr."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..domain.spreadsheets import ENCODINGS

INDEXED = re.compile(r"indexed (\d+)/(\d+)")


LINE_EVERY = 100  # rows between two progress lines when stderr is not a terminal (a log, a pipe)


class ProgressBars:
    """Progress on stderr: a bar while rows are read and checked, a line once they are stored, a bar while
    they are embedded, then the proposing as lines; fed by the importer's callbacks.

    When stderr is not a terminal, progress is written as plain lines ("checked 500/10000 rows") a log can keep.
    """

    def __init__(self):
        self.bar = None
        self.label = ""
        self.lines = not sys.stderr.isatty()

    def update(self, label: str, done: int, total: int) -> None:
        """Move the bar of this phase to done of total, starting it (and ending the last one) on a new phase."""
        if self.lines:
            if done == total or done % LINE_EVERY == 0:
                click.echo(f"  checked {done}/{total} rows", err=True)  # the one phase fed through update()
            return
        if label != self.label:
            self.close()
            self.label = label
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def stored(self, count: int) -> None:
        """Say that the checked rows are committed, between the checking bar and the embedding bar."""
        self.close()
        click.echo(f"  stored {count} rows", err=True)

    def message(self, text: str) -> None:
        """Show the engine's batch progress ("indexed 64/10000") as a bar, other messages as lines."""
        found = INDEXED.search(text)
        if found and not self.lines:
            self.update("embedding", int(found[1]), int(found[2]))
        else:
            self.close()
            click.echo(f"  {text}", err=True)

    def close(self) -> None:
        """End the current bar, if any."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar, self.label = None, ""


def _saved_columns(kind: str, mapping: str | None) -> dict[str, str] | None:
    """Return the columns of a JSON mapping file ({"sheet header": "import column"}) or a saved mapping's."""
    from ..domain.mapping import find_mapping

    if not mapping:
        return None
    path = Path(mapping)
    if path.suffix.lower() == ".json" and path.is_file():
        try:
            columns = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise click.ClickException(f"{path.name}: not a JSON mapping ({error})") from None
        if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
            raise click.ClickException(f'{path.name}: expected {{"sheet header": "import column", ...}}')
        return columns
    return find_mapping(mapping, kind).columns


@click.command("import")
@click.argument("kind", type=click.Choice(["demands", "offerings"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-propose", is_flag=True, help="Index only; do not propose matches.")
@click.option("--mapping", help="A saved mapping's name, or a JSON file mapping sheet headers to import columns.")
@click.option("--encoding", type=click.Choice(ENCODINGS), help="The CSV file's encoding (default: detected).")
@with_appcontext
def import_command(kind: str, path: Path, no_propose: bool, mapping: str | None, encoding: str | None) -> None:
    """Import demands or offerings from a CSV, XLSX or JSON file, as published postings."""
    from ..domain.importing import ImportFailed, ImportFile, import_postings

    bars = ProgressBars()
    try:
        source = ImportFile(
            path, encoding or "", _saved_columns(kind[:-1], mapping), current_app.config["MATCHMAKER_IMPORT_MAX_MB"]
        )
        result = import_postings(
            kind[:-1],
            source,
            propose=not no_propose,
            progress=bars.message,
            on_row=lambda done, total: bars.update("checking rows", done, total),
            on_stored=bars.stored,
        )
    except ImportFailed as exc:
        bars.close()
        raise click.ClickException(f"{path.name}: nothing was imported.\n" + "\n".join(exc.problems)) from exc
    bars.close()
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{path.name}: {len(result.created)} {kind} created, {len(result.updated)} updated")
    if not no_propose:
        click.echo(f"{result.proposals} new proposals")
