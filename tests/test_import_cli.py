"""`matchmaker import` and `matchmaker match`: formats, row-level errors, nothing half-imported."""

import json
import sys
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from matchmaker.extensions import db
from matchmaker.models import Demand, Match, Offering, Organization, PostingStatus

from .factories import demand_form, field_errors, offering_form

DEMANDS_CSV = """ref,title,description,organization,language,industry,scenarios,city,budget_min,budget_max,deployment,vouchers
D1,布面瑕疵检测,布面上的跳纱、破洞全靠老师傅肉眼看,Foshan Weave,zh-Hans,17,visual_inspection,佛山,100000,300000,edge,compute;model
D2,窯爐故障預警,窯爐溫度一波動就出廢品,Zhaoqing Kiln,zh-Hant,30,,肇庆,,,,
"""
OFFERINGS = [
    {
        "ref": "O1",
        "title": "紡織面料瑕疵AI視覺檢測",
        "description": "線掃相機偵測布面跳紗、破洞。",
        "organization": "HK Textile AI",
        "industries": "17",
        "regions": "Greater Bay Area",
        "price_min": "150000",
        "price_max": "400000",
        "capacity": "2",
    },
    {
        "ref": "O2",
        "title": "Kiln fault early warning",
        "description": "Predict burner and fan faults in ceramic kilns from temperature curves.",
        "organization": "Kiln Watch",
        "deployment_modes": "edge;cloud",
    },
]


def _count(model):
    return db.session.scalar(sa.select(sa.func.count(model.id)))


def _write_xlsx(path, rows):
    book = Workbook()
    sheet = book.active
    header = list(rows[0])
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(h, "") for h in header])
    book.save(path)


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_import_offerings_in_each_format(app, runner, tmp_path, fmt):
    path = tmp_path / f"offerings.{fmt}"
    if fmt == "csv":
        header = sorted({k for row in OFFERINGS for k in row})
        lines = [",".join(header)] + [",".join(row.get(h, "") for h in header) for row in OFFERINGS]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "json":
        path.write_text(json.dumps(OFFERINGS, ensure_ascii=False), encoding="utf-8")
    else:
        _write_xlsx(path, OFFERINGS)
    result = runner.invoke(args=["import", "offerings", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 offerings created" in result.output
    with app.app_context():
        offering = db.session.scalar(sa.select(Offering).where(Offering.ref == "O1"))
        assert offering.status is PostingStatus.PUBLISHED and offering.capacity == 2
        assert offering.language == "zh-Hant" and "visual_inspection" in offering.all_scenarios
        assert offering.organization.kind.value == "vendor" and offering.embedding is not None


def test_import_demands_then_match_json(app, runner, tmp_path):
    (tmp_path / "d.csv").write_text(DEMANDS_CSV, encoding="utf-8")
    (tmp_path / "o.json").write_text(json.dumps(OFFERINGS, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(args=["import", "offerings", str(tmp_path / "o.json")]).exit_code == 0
    result = runner.invoke(args=["import", "demands", str(tmp_path / "d.csv")])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _count(Match) > 0
    result = runner.invoke(args=["match", "--all", "--top", "1", "--format", "json"])
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.output)
    assert set(ranked) == {"D1", "D2"}
    assert ranked["D1"][0]["offering_ref"] == "O1" and ranked["D2"][0]["offering_ref"] == "O2"
    assert ranked["D1"][0]["score"] > 0 and ranked["D1"][0]["reasons"]
    one = json.loads(runner.invoke(args=["match", "--demand", "D2", "--top", "2", "--format", "json"]).output)
    assert list(one) == ["D2"] and len(one["D2"]) == 2


def test_reimport_updates_by_ref(app, runner, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(DEMANDS_CSV, encoding="utf-8")
    runner.invoke(args=["import", "demands", str(path)])
    path.write_text(DEMANDS_CSV.replace("布面瑕疵检测", "布面瑕疵自动检测"), encoding="utf-8")
    result = runner.invoke(args=["import", "demands", str(path)])
    assert "0 demands created, 2 updated" in result.output
    with app.app_context():
        assert _count(Demand) == 2
        assert db.session.scalar(sa.select(Demand.title).where(Demand.ref == "D1")) == "布面瑕疵自动检测"


def test_bad_file_reports_rows_and_imports_nothing(app, runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "ref,title,description,industry,budget_min,budget_max,scenarios\n"
        "A1,Good one,Fine text,17,,,\n"
        "A2,,Missing title,17,,,\n"
        "A3,Budget,Bad budget,17,lots,100,\n"
        "A4,Range,Wrong way round,99,500,100,teleportation\n"
        "A1,Dup,Duplicate ref,,,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["import", "demands", str(path)])
    assert result.exit_code != 0
    assert "nothing was imported" in result.output
    assert "row 3 (ref A2), column title: This field is required." in result.output
    assert "row 4 (ref A3), column budget_min: Not a whole number: lots." in result.output
    assert "row 5 (ref A4), column scenarios: Not in the list: teleportation." in result.output
    assert "row 5 (ref A4), column industry: Not in the list: 99." in result.output
    assert "row 5 (ref A4), column budget_max: The minimum cannot be more than the maximum." in result.output
    assert "row 6 (ref A1), column ref: Duplicate ref 'A1' (first on row 2)." in result.output
    with app.app_context():
        assert _count(Demand) == 0


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("x.txt", "ref,title\n", "Unsupported file type .txt"),
        ("x.json", '{"nope": 1}', "Expected a JSON list of objects"),
        ("x.csv", "ref,title,description\n", "There are no rows below the header row"),
    ],
)
def test_unreadable_files_get_clear_errors(app, runner, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(args=["import", "offerings", str(path)])
    assert result.exit_code != 0 and message in result.output


def test_organization_of_the_wrong_kind_is_refused(app, runner, tmp_path):
    (tmp_path / "o.json").write_text(json.dumps(OFFERINGS, ensure_ascii=False), encoding="utf-8")
    runner.invoke(args=["import", "offerings", str(tmp_path / "o.json")])
    (tmp_path / "d.csv").write_text("ref,title,description,organization\nX,T,D,Kiln Watch\n", encoding="utf-8")
    result = runner.invoke(args=["import", "demands", str(tmp_path / "d.csv")])
    assert result.exit_code != 0
    assert "row 2 (ref X), column organization: 'Kiln Watch' is a vendor, not a manufacturer." in result.output
    with app.app_context():
        assert _count(Demand) == 0


def test_match_needs_a_choice_and_a_known_demand(app, runner):
    assert runner.invoke(args=["match"]).exit_code != 0
    result = runner.invoke(args=["match", "--demand", "NOPE"])
    assert result.exit_code != 0 and "No demand with ref 'NOPE'" in result.output


# ------------------------------------------------------------------ the domain's rules, row by row


def _import(runner, tmp_path, kind, rows, *options):
    """Write rows to a JSON file and run `matchmaker import KIND FILE`."""
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return runner.invoke(args=["import", kind, str(path), *options])


def _by_ref(model, ref):
    return db.session.scalar(sa.select(model).where(model.ref == ref))


def test_reimporting_a_closed_offering_leaves_it_closed(app, runner, tmp_path):
    assert _import(runner, tmp_path, "offerings", OFFERINGS, "--no-propose").exit_code == 0
    with app.app_context():
        _by_ref(Offering, "O1").status = PostingStatus.CLOSED  # as the vendor closing it leaves it
        db.session.commit()
    again = [{**OFFERINGS[0], "title": "Reopened?"}, {**OFFERINGS[1], "title": "Kiln fault warning, revised"}]
    result = _import(runner, tmp_path, "offerings", again, "--no-propose")
    assert result.exit_code != 0, result.output
    assert "row 2 (ref O1): A closed posting can no longer be edited." in result.output
    with app.app_context():
        closed = _by_ref(Offering, "O1")
        assert closed.status is PostingStatus.CLOSED and closed.title == OFFERINGS[0]["title"]
        assert _by_ref(Offering, "O2").title == OFFERINGS[1]["title"]  # the good row was not written either


YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    "kind, change, message",
    [
        ("offerings", {"capacity": "0"}, "column capacity: Capacity must be at least 1."),
        ("demands", {"expires_on": YESTERDAY}, "column expires_on: The expiry date cannot be in the past."),
        ("demands", {"title": "布" * 201}, "column title: At most 200 characters."),
        ("offerings", {"title": "x" * 201}, "column title: At most 200 characters."),
        ("demands", {"budget_max": "3000000000"}, "column budget_max: At most 2147483647."),
        ("offerings", {"ref": "R" * 101}, "column ref: At most 100 characters."),
        ("demands", {"organization": "O" * 201}, "column organization: At most 200 characters."),
    ],
    ids=["capacity-0", "past-expiry", "long-title", "long-offering-title", "huge-budget", "long-ref", "long-org"],
)
def test_a_rule_broken_on_one_row_writes_nothing(app, runner, tmp_path, kind, change, message):
    """Each refusal is a row message, never a database error (PostgreSQL refuses over-long text itself)."""
    good = {"ref": "G1", "title": "Fabric defect detection", "description": "Find holes in woven fabric."}
    result = _import(runner, tmp_path, kind, [good, {**good, "ref": "B1", **change}], "--no-propose")
    assert result.exit_code != 0, result.output
    ref = change.get("ref", "B1")
    assert f"row 3 (ref {ref}), {message}" in result.output
    assert "database" not in result.output
    with app.app_context():
        assert _count(Demand) == _count(Offering) == _count(Organization) == 0


def test_every_problem_on_a_row_is_reported(app, runner, tmp_path):
    row = {
        "ref": "B1",
        "title": "x" * 201,
        "description": "",
        "price_min": "cheap",
        "price_max": "-5",
        "deployment_modes": "edge;orbit",
        "capacity": "0",
        "language": "fr",
    }
    result = _import(runner, tmp_path, "offerings", [row], "--no-propose")
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.startswith("row 2 (ref B1)")]
    assert lines == [
        "row 2 (ref B1), column price_min: Not a whole number: cheap.",
        "row 2 (ref B1), column title: At most 200 characters.",
        "row 2 (ref B1), column description: This field is required.",
        "row 2 (ref B1), column language: Unknown language fr.",
        "row 2 (ref B1), column deployment_modes: Not in the list: orbit.",
        "row 2 (ref B1), column price_max: Amounts cannot be negative.",
        "row 2 (ref B1), column capacity: Capacity must be at least 1.",
    ]


def test_the_web_form_and_the_importer_say_the_same(app, client, auth, personas, tmp_path, runner):
    bad = {"budget_min": "500000", "budget_max": "1000", "expires_on": YESTERDAY}
    auth.login_as("manufacturer")
    page = client.post("/demands/new", data=demand_form(**bad)).get_data(as_text=True)
    web = {name: field_errors(page, name) for name in bad}
    assert web == {
        "budget_min": [],
        "budget_max": ["The minimum cannot be more than the maximum."],
        "expires_on": ["The expiry date cannot be in the past."],
    }
    row = {"ref": "W1", "title": "Fabric defects", "description": "Holes in fabric.", **bad}
    result = _import(runner, tmp_path, "demands", [row], "--no-propose")
    imported = [line for line in result.output.splitlines() if line.startswith("row 2")]
    assert imported == [f"row 2 (ref W1), column {name}: {m}" for name, messages in web.items() for m in messages]


def test_an_import_cannot_take_another_organizations_posting(app, runner, tmp_path):
    (tmp_path / "d.csv").write_text(DEMANDS_CSV, encoding="utf-8")
    assert runner.invoke(args=["import", "demands", str(tmp_path / "d.csv"), "--no-propose"]).exit_code == 0
    row = {"ref": "D1", "title": "Taken over", "description": "Mine now.", "organization": "Zhaoqing Kiln"}
    result = _import(runner, tmp_path, "demands", [row], "--no-propose")
    assert result.exit_code != 0
    assert "row 2 (ref D1), column organization: This posting belongs to another organization." in result.output
    with app.app_context():
        demand = _by_ref(Demand, "D1")
        assert demand.organization.name == "Foshan Weave" and demand.title == "布面瑕疵检测"


def test_a_draft_ref_is_updated_and_published_for_its_own_organization(app, runner, tmp_path, personas):
    from matchmaker.domain import postings
    from matchmaker.models import User

    with app.app_context():
        user = db.session.get(User, personas["manufacturer"])
        postings.create_demand(user, postings.DemandInput("Draft title", "Draft text."), ref="W9")
    row = {"ref": "W9", "title": "Imported title", "description": "Imported text.", "industry": "17"}
    result = _import(runner, tmp_path, "demands", [row], "--no-propose")
    assert result.exit_code == 0, result.output
    assert "0 demands created, 1 updated" in result.output
    with app.app_context():
        demand = _by_ref(Demand, "W9")
        assert demand.status is PostingStatus.PUBLISHED and demand.published_at is not None
        assert demand.title == "Imported title" and demand.organization.name == "Foshan Weave Textiles"
        assert demand.embedding is not None  # announced to the engine and indexed


def test_organizations_are_matched_by_name_ignoring_case_and_spaces(app, runner, tmp_path):
    assert _import(runner, tmp_path, "offerings", OFFERINGS, "--no-propose").exit_code == 0
    row = {"ref": "O3", "title": "Kiln camera", "description": "Watch kiln flames.", "organization": "  kiln WATCH "}
    assert _import(runner, tmp_path, "offerings", [row], "--no-propose").exit_code == 0
    with app.app_context():
        assert _count(Organization) == 2
        assert _by_ref(Offering, "O3").organization is _by_ref(Offering, "O2").organization


def test_no_propose_indexes_without_proposing(app, runner, tmp_path):
    assert _import(runner, tmp_path, "offerings", OFFERINGS, "--no-propose").exit_code == 0
    (tmp_path / "d.csv").write_text(DEMANDS_CSV, encoding="utf-8")
    result = runner.invoke(args=["import", "demands", str(tmp_path / "d.csv"), "--no-propose"])
    assert result.exit_code == 0 and "new proposals" not in result.output
    with app.app_context():
        assert _count(Match) == 0
        assert all(d.embedding is not None for d in db.session.scalars(sa.select(Demand)))


def test_an_import_is_announced_once_with_every_posting(app, runner, tmp_path):
    from matchmaker.signals import postings_saved

    seen = []

    def record(sender, postings, propose, **_):
        seen.append((sorted(p.ref for p in postings), propose))

    with postings_saved.connected_to(record):
        assert _import(runner, tmp_path, "offerings", OFFERINGS).exit_code == 0
        assert _import(runner, tmp_path, "offerings", OFFERINGS, "--no-propose").exit_code == 0
    assert seen == [(["O1", "O2"], True), (["O1", "O2"], False)]


@pytest.mark.parametrize(
    ("kind", "bad"),
    [
        ("demands", {"title": "T" * 201, "city": "C" * 81, "timeline": "L" * 101, "budget_min": "-5"}),
        ("offerings", {"title": "T" * 201, "capacity": "1001", "price_min": "-1"}),
        ("offerings", {"capacity": "0"}),
    ],
    ids=["demand lengths", "offering capacity above", "offering capacity zero"],
)
def test_length_and_range_rules_come_from_the_domain_alone(app, client, auth, personas, tmp_path, runner, kind, bad):
    """The web form has no limits of its own: it says what the importer says, and both refuse."""
    auth.login_as("manufacturer" if kind == "demands" else "vendor")
    form = demand_form(**bad) if kind == "demands" else offering_form(**bad)
    page = client.post(f"/{kind}/new", data=form).get_data(as_text=True)
    web = {name: field_errors(page, name) for name in bad}
    assert all(web.values()), web
    row = {"ref": "R1", "title": "A title", "description": "A description.", **bad}
    result = _import(runner, tmp_path, kind, [row], "--no-propose")
    assert result.exit_code != 0
    imported = [line for line in result.output.splitlines() if line.startswith("row 2")]
    expected = [f"row 2 (ref R1), column {name}: {m}" for name, messages in web.items() for m in messages]
    assert sorted(imported) == sorted(expected)
    with app.app_context():
        model = Demand if kind == "demands" else Offering
        assert db.session.scalar(sa.select(sa.func.count(model.id))) == 0


def test_match_all_streams_page_by_page_with_every_demand_once(app, runner, tmp_path, monkeypatch):
    from matchmaker.matching import service

    third = "D3,Energy management,Cut compressor electricity in a dyeing plant,Foshan Dye,en,17,,佛山,,,,\n"
    (tmp_path / "d.csv").write_text(DEMANDS_CSV + third, encoding="utf-8")
    (tmp_path / "o.json").write_text(json.dumps(OFFERINGS, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(args=["import", "offerings", str(tmp_path / "o.json"), "--no-propose"]).exit_code == 0
    assert runner.invoke(args=["import", "demands", str(tmp_path / "d.csv"), "--no-propose"]).exit_code == 0
    whole = json.loads(runner.invoke(args=["match", "--all", "--top", "2", "--format", "json"]).output)
    assert list(whole) == ["D1", "D2", "D3"]
    monkeypatch.setattr(service, "BATCH", 1)
    pages, held, written = [], [], []
    real_pages = service.published_demand_pages

    def counted(*args, **kwargs):
        for page in real_pages(*args, **kwargs):
            pages.append([d.ref for d in page])
            # what the session holds and what was printed when each page is read
            held.append(sum(isinstance(o, Demand) for o in db.session.identity_map.values()))
            written.append(sys.stdout.buffer.getvalue().decode())
            yield page

    monkeypatch.setattr(service, "published_demand_pages", counted)
    result = runner.invoke(args=["match", "--all", "--top", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == whole and pages == [["D1"], ["D2"], ["D3"]]
    # Streamed, one page read ahead (its search runs while the page before is ranked): D1's ranking is
    # out before D3 is read. Bounded: the session holds one page of demands at a time.
    assert written[1] == "" and '"D1"' in written[2] and '"D2"' not in written[2]
    assert held == [1, 1, 1]
    text = runner.invoke(args=["match", "--all", "--top", "1"]).output.splitlines()
    assert [line for line in text if not line.startswith(" ")] == ["D1", "D2", "D3"]


def test_import_reports_progress_rows_checked_stored_and_embedded(app, runner, tmp_path):
    """Written as lines when stderr is no terminal: rows read and checked, stored, embedded, then proposals."""
    rows = "".join(f"P{n},Kiln watch {n},Warn before kiln {n} of the line fails.\n" for n in range(250))
    (tmp_path / "kilns.csv").write_text("ref,title,description\n" + rows, encoding="utf-8")
    result = runner.invoke(args=["import", "demands", str(tmp_path / "kilns.csv")])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    checked = [line for line in lines if line.startswith("checked ")]
    assert checked[-1] == "checked 250/250 rows" and len(checked) >= 3  # every 100 rows, and the last
    assert "stored 250 rows" in lines
    indexed = [line for line in lines if line.startswith("indexed ")]
    assert indexed and indexed[-1] == "indexed 250/250"
    order = [lines.index(checked[-1]), lines.index("stored 250 rows"), lines.index(indexed[-1])]
    assert order == sorted(order)  # checked, then stored, then embedded


def test_progress_bars_on_a_terminal(monkeypatch):
    """On a terminal, each phase is one bar that ends when the next phase starts."""
    import io

    import click

    from matchmaker.cli import importing

    made = []

    class Bar:
        def __init__(self, length, label, file):
            self.length, self.label, self.pos, self.ended = length, label, 0, False
            made.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.ended = True

        def update(self, steps):
            self.pos += steps

    monkeypatch.setattr(click, "progressbar", Bar)
    monkeypatch.setattr(importing.sys, "stderr", io.StringIO())
    bars = importing.ProgressBars()
    bars.lines = False
    for done in (0, 100, 200, 250):
        bars.update("checking rows", done, 250)
    bars.stored(250)
    for text in ("indexed 64/250", "indexed 250/250"):
        bars.message(text)
    bars.close()
    assert [(b.label, b.length, b.pos, b.ended) for b in made] == [
        ("checking rows", 250, 250, True),
        ("embedding", 250, 250, True),
    ]
