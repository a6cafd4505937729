"""Import files a new user might bring: encodings, empty sheets, merged cells, formulas, oversized files.

Each is refused (or read) with a clear message, through the CLI, and changes nothing.
"""

import json
import tracemalloc

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from matchmaker.domain import mapping
from matchmaker.domain.spreadsheets import ImportFailed, detect_encoding, read_sheet
from matchmaker.extensions import db
from matchmaker.models import ColumnMapping, Demand, Organization, OrgKind, Role, User

from .factories import make_user

HEADER = "ref,title,description,organization,city\n"
TRADITIONAL = HEADER + "E1,窯爐故障預警,窯爐溫度一波動就出廢品,肇慶窯業,肇慶\n"
SIMPLIFIED = HEADER + "E2,布面瑕疵检测,布面上的跳纱、破洞全靠老师傅肉眼看,佛山织造,佛山\n"


def _rows_in_db(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count(Demand.id))),
            db.session.scalar(sa.select(sa.func.count(Organization.id))),
        )


def _import(runner, path, *args):
    return runner.invoke(args=["import", "demands", str(path), "--no-propose", *args])


@pytest.mark.parametrize(
    "text, encoding, title",
    [
        (SIMPLIFIED, "gb18030", "布面瑕疵检测"),
        (SIMPLIFIED, "gbk", "布面瑕疵检测"),
        (TRADITIONAL, "big5", "窯爐故障預警"),
        (TRADITIONAL, "utf-8-sig", "窯爐故障預警"),
        (TRADITIONAL, "utf-8", "窯爐故障預警"),
    ],
)
def test_csv_encodings_are_detected(app, runner, tmp_path, text, encoding, title):
    path = tmp_path / "demands.csv"
    path.write_bytes(text.encode(encoding))
    result = _import(runner, path)
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(Demand.title)) == title


def test_bom_header_is_not_part_of_the_first_column():
    sheet_bytes = ("\ufeff" + HEADER + "E1,t,d,o,c\n").encode("utf-8")
    assert detect_encoding(sheet_bytes[3:]) == "utf-8"
    from matchmaker.domain.spreadsheets import _read_csv

    assert _read_csv(sheet_bytes, "").header[0] == "ref"


def test_undecidable_bytes_ask_for_the_encoding_and_change_nothing(app, runner, tmp_path):
    path = tmp_path / "demands.csv"
    path.write_bytes(HEADER.encode() + b"E1,\x81\x30\xff\xfe\x80\x81,x,y,z\n")  # neither UTF-8, GB18030 nor Big5
    before = _rows_in_db(app)
    result = _import(runner, path)
    assert result.exit_code != 0 and "choose the encoding it was saved in" in result.output
    assert _rows_in_db(app) == before


def test_the_wrong_encoding_given_is_refused_clearly(app, runner, tmp_path):
    path = tmp_path / "demands.csv"
    path.write_bytes(TRADITIONAL.encode("big5"))
    result = _import(runner, path, "--encoding", "utf-8")
    assert result.exit_code != 0 and "cannot be read as utf-8" in result.output
    assert _rows_in_db(app) == (0, 0)
    assert _import(runner, path, "--encoding", "big5").exit_code == 0


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", b"", "The file is empty."),
        ("blank.csv", b"\n\n", "The file is empty."),
        ("header-only.csv", HEADER.encode(), "There are no rows below the header row."),
        ("empty.json", b"[]", "The file is empty."),
    ],
)
def test_empty_files_are_refused(app, runner, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = _import(runner, path)
    assert result.exit_code != 0 and message in result.output
    assert _rows_in_db(app) == (0, 0)


def test_an_empty_sheet_is_refused_by_name(app, runner, tmp_path):
    book = Workbook()
    book.active.title = "需求清單"
    path = tmp_path / "empty.xlsx"
    book.save(path)
    result = _import(runner, path)
    assert result.exit_code != 0 and "The first sheet, 需求清單, is empty." in result.output
    assert _rows_in_db(app) == (0, 0)


def _sheet(path, rows, merge=None, formula=None):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    if formula:
        sheet[formula[0]] = formula[1]
    book.save(path)


ROWS = [
    ["ref", "title", "description"],
    ["X1", "Kiln watch", "Warn before the kiln fails."],
    ["X2", "Seam AI", "Find bad seams."],
]


def test_merged_header_cells_are_named(app, runner, tmp_path):
    path = tmp_path / "merged.xlsx"
    _sheet(path, ROWS, merge="B1:C1")
    result = _import(runner, path)
    assert result.exit_code != 0
    assert "The header row has merged cells (B1:C1)" in result.output
    assert _rows_in_db(app) == (0, 0)


def test_merged_data_cells_are_named(app, runner, tmp_path):
    path = tmp_path / "merged.xlsx"
    _sheet(path, [*ROWS, ["X3", "Same", ""], ["X4", "", ""]], merge="B4:B5")
    result = _import(runner, path)
    assert result.exit_code != 0 and "The sheet has merged cells (B4:B5)" in result.output
    assert _rows_in_db(app) == (0, 0)


def test_formulas_are_reported_by_cell(app, runner, tmp_path):
    path = tmp_path / "formulas.xlsx"
    _sheet(path, ROWS, formula=("C3", '=CONCAT("Find ", "bad seams.")'))
    result = _import(runner, path)
    assert result.exit_code != 0
    assert "1 cells hold formulas (C3)" in result.output and "paste it as values" in result.output
    assert _rows_in_db(app) == (0, 0)


def test_a_file_over_the_limit_is_refused_before_it_is_read(app, runner, tmp_path, monkeypatch):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # 50 MB of rows; reading them would take long and much memory
        handle.write(HEADER.encode())
        handle.truncate(50 * 1024 * 1024)
    read = []
    monkeypatch.setattr("pathlib.Path.read_bytes", lambda self: read.append(self) or b"")
    result = _import(runner, path)
    assert result.exit_code != 0
    assert "The file is 50.0 MB; the limit is 20 MB." in result.output and read == []
    assert _rows_in_db(app) == (0, 0)


@pytest.mark.slow
def test_a_large_sheet_is_streamed(tmp_path):
    from openpyxl import Workbook as Book

    path = tmp_path / "large.xlsx"
    book = Book(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["ref", "title", "description", "organization", "city"])
    for number in range(10_000):
        sheet.append(
            [f"L{number}", f"Line {number} seam inspection", "Find bad seams on the line. " * 4, "Mill", "Foshan"]
        )
    book.save(path)
    tracemalloc.start()
    sheet = read_sheet(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(sheet.rows) == 10_000 and sheet.rows[-1]["ref"] == "L9999"
    # The rows themselves take some 15 MB here; a workbook loaded whole would hold every cell object too.
    assert peak < 60 * 1024 * 1024, peak


# ---------------------------------------------------------------- column mapping


def test_chinese_and_english_headers_are_suggested():
    header = ["需求名稱", "企业名称", "所在城市", "Solution name", "備註", "ref", "需求描述"]
    columns = mapping.suggest(header, "demand")
    assert columns == {
        "需求名稱": "title",
        "企业名称": "organization",
        "所在城市": "city",
        "Solution name": "",  # title is taken by the column before it
        "備註": "",
        "ref": "ref",
        "需求描述": "description",
    }
    assert mapping.suggest(["Solution name", "部署方式"], "offering") == {
        "Solution name": "title",
        "部署方式": "deployment_modes",
    }


def test_a_mapping_without_required_columns_is_refused():
    with pytest.raises(ImportFailed) as caught:
        mapping.check({"需求名稱": "title", "名稱": "title"}, "demand")
    text = "\n".join(caught.value.problems)
    assert "Both 需求名稱 and 名稱 feed title." in text
    assert "No column feeds ref" in text and "No column feeds description" in text


def test_cli_takes_a_json_mapping_file_or_a_saved_mapping(app, runner, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("編號,名稱,內容\nM1,窯爐故障預警,窯爐溫度一波動就出廢品\n", encoding="utf-8")
    columns = {"編號": "ref", "名稱": "title", "內容": "description"}
    result = _import(runner, path)
    assert result.exit_code != 0 and "No column feeds title" in result.output
    (tmp_path / "mapping.json").write_text(json.dumps(columns, ensure_ascii=False), encoding="utf-8")
    assert _import(runner, path, "--mapping", str(tmp_path / "mapping.json")).exit_code == 0
    with app.app_context():
        curator = make_user("c@map.test", OrgKind.VENDOR, "Agency", Role.CURATOR)
        mapping.save_mapping(db.session.get(User, curator.id), "demand", "Agency list", columns, shared=True)
        assert db.session.scalar(sa.select(ColumnMapping.name)) == "Agency list"
    path.write_text("編號,名稱,內容\nM2,Kiln AI,Warn early\n", encoding="utf-8")
    result = _import(runner, path, "--mapping", "Agency list")
    assert result.exit_code == 0, result.output
    assert _import(runner, path, "--mapping", "No such list").output.count("No saved mapping named No such list") == 1
