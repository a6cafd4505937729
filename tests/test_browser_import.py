"""The curator's import in a real browser: a demand list with Chinese headers, mapped, refused, fixed, imported.

Screenshots of each step go to test-artifacts/ at the top of the checkout.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from openpyxl import Workbook

from .browser_support import CURATOR, expect, skip_without_browser

pytestmark = pytest.mark.browser
skip_without_browser()

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# 項目背景 is no header the mapping knows: the curator says it feeds the description.
HEADER = ["需求編號", "需求名稱", "項目背景", "企業名稱", "所在城市", "備註"]
ROWS = [
    [
        "GOV-001",
        "坯布表面瑕疵AI自動檢測",
        "織造車間有喷气织机八十台，布面上的跳紗、破洞全靠老師傅肉眼看，漏檢率約3%，希望用相機自動檢測布面瑕疵。",
        "佛山市南海華錦紡織有限公司",
        "佛山",
        "急",
    ],
    [
        "GOV-002",
        "",  # no title: the check reports this row, and nothing is written
        "壓鑄件外觀氣孔、冷隔、拉傷全憑QC經驗判斷，想用AI視覺檢測外觀缺陷。",
        "精創五金製品（東莞）有限公司",
        "東莞",
        "",
    ],
    [
        "GOV-003",
        "窯爐溫度異常預警",
        "窯爐溫度一波動就出廢品，想根據溫度曲線提前預警燒嘴和風機故障。",
        "肇慶陶瓷有限公司",
        "肇慶",
        "",
    ],
]


def _sheet(path: Path, rows: list[list[str]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "需求清單"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"import-{name}.png", full_page=True)


def _wait_for_status(page, statuses: set[str], seen: set[str], seconds: float = 240) -> str:
    """Let the page refresh itself until the job reaches one of the statuses; note the states it showed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = page.locator("#status").get_attribute("data-status")
        seen.add(status)
        if status in statuses:
            return status
        if page.locator("#progress").count():
            seen.add("progress shown")
        page.wait_for_timeout(500)
    raise AssertionError(f"the import stayed {status}")


def test_curator_imports_a_chinese_demand_list_fixes_a_row_and_sees_proposals(person, tmp_path):
    page = person(CURATOR)
    page.goto("/curation/")
    page.get_by_role("link", name="Import a spreadsheet").click()
    expect(page.get_by_role("heading", name="Import a spreadsheet", level=1)).to_be_visible()

    # Upload the list with a row missing its title.
    page.get_by_label("The file lists").select_option("demand")
    page.get_by_label("CSV, XLSX or JSON file").set_input_files(_sheet(tmp_path / "需求清單.xlsx", ROWS))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", name=re.compile("需求清單.xlsx"))).to_be_visible()

    # The preview suggests a column for each Chinese header it knows; the curator maps the one it does not.
    preview = page.locator("#preview")
    expect(preview).to_contain_text("坯布表面瑕疵AI自動檢測")
    expect(page.get_by_label("Column 需求名稱 feeds")).to_have_value("title")
    expect(page.get_by_label("Column 企業名稱 feeds")).to_have_value("organization")
    expect(page.get_by_label("Column 所在城市 feeds")).to_have_value("city")
    expect(page.get_by_label("Column 項目背景 feeds")).to_have_value("")
    page.get_by_label("Column 項目背景 feeds").select_option("description")
    page.get_by_label("Column 備註 feeds").select_option("")
    page.get_by_label("Save this mapping as").fill("政府需求清單")
    _shot(page, "1-mapping")
    page.get_by_role("button", name="Check the rows").click()

    # The row report names the row, its ref and the sheet's own header; nothing is written.
    seen: set[str] = set()
    assert _wait_for_status(page, {"refused", "checked"}, seen) == "refused"
    problems = page.locator("#problems")
    expect(problems).to_contain_text("Nothing was imported")
    row = problems.get_by_role("row", name=re.compile("GOV-002"))
    expect(row).to_contain_text("需求名稱")
    expect(row).to_contain_text("This field is required.")
    expect(row).to_contain_text("3")  # the sheet's row number: the header is row 1
    _shot(page, "2-row-report")
    assert page.get_by_role("button", name="Import every row").count() == 0

    # Fix the file and upload it again; start from the mapping saved with the first check.
    fixed = [list(r) for r in ROWS]
    fixed[1][1] = "壓鑄件外觀缺陷AI檢測"
    page.get_by_role("link", name="Upload another file").click()
    page.get_by_label("The file lists").select_option("demand")
    page.get_by_label("CSV, XLSX or JSON file").set_input_files(_sheet(tmp_path / "需求清單-修正.xlsx", fixed))
    page.get_by_role("button", name="Upload").click()
    page.get_by_label("Start from a saved mapping").select_option(label="政府需求清單")
    page.get_by_role("button", name="Use it").click()
    expect(page.get_by_label("Column 項目背景 feeds")).to_have_value("description")
    page.get_by_role("button", name="Check the rows").click()
    assert _wait_for_status(page, {"refused", "checked"}, seen) == "checked"
    expect(page.locator("#checked")).to_contain_text("Every row is valid: 3 new, 0 updated")
    _shot(page, "3-checked")

    # Commit: the page shows the progress while the rows are stored, embedded and matched.
    page.get_by_role("button", name="Import every row").click()
    commit_seen: set[str] = set()
    first = page.locator("#status").get_attribute("data-status")
    if first == "importing":
        expect(page.locator("#progress progress")).to_be_attached()
        _shot(page, "4-progress")
        commit_seen.add("progress shown")
    assert _wait_for_status(page, {"done", "failed", "refused"}, commit_seen) == "done", commit_seen
    assert "progress shown" in seen | commit_seen  # the job ran in the background, its progress on the page
    result = page.locator("#result")
    expect(result).to_contain_text(re.compile(r"Imported: 3 new, 0 updated; [1-9]\d* new proposals"))
    _shot(page, "5-result")

    # Each imported demand links to its page, where the proposals are listed.
    result.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="坯布表面瑕疵AI自動檢測", level=1)).to_be_visible()
    matches = page.locator("#matches")
    expect(matches).to_be_visible()
    expect(matches.get_by_role("link").first).to_be_visible()
    _shot(page, "6-proposals")
