"""`matchmaker import` and `matchmaker match`: formats, row-level errors, nothing half-imported."""

import json

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from matchmaker.extensions import db
from matchmaker.models import Demand, Match, Offering, PostingStatus

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
    assert "row 3 (ref A2): missing required column value(s): title" in result.output
    assert "row 4 (ref A3): budget_min must be a whole number, got 'lots'" in result.output
    assert "row 5 (ref A4): unknown scenario: teleportation" in result.output
    assert (
        "unknown industry code: 99" in result.output
        and "budget_min (500) is more than budget_max (100)" in result.output
    )
    assert "row 6 (ref A1): duplicate ref 'A1' (first on row 2)" in result.output
    with app.app_context():
        assert _count(Demand) == 0


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("x.txt", "ref,title\n", "unsupported file type .txt"),
        ("x.json", '{"nope": 1}', "expected a JSON list of objects"),
        ("x.csv", "ref,title,description\n", "the file has no rows"),
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
    assert result.exit_code != 0 and "'Kiln Watch' is a vendor, not a manufacturer" in result.output
    with app.app_context():
        assert _count(Demand) == 0


def test_match_needs_a_choice_and_a_known_demand(app, runner):
    assert runner.invoke(args=["match"]).exit_code != 0
    result = runner.invoke(args=["match", "--demand", "NOPE"])
    assert result.exit_code != 0 and "No demand with ref 'NOPE'" in result.output
