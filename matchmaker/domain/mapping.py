"""Column mapping: which of a sheet's own columns (「需求名稱」, "Solution name") feeds which import column.

Suggestions come from a table of synonyms in English, Traditional and Simplified Chinese; a curator
confirms or changes them, and may save the result under a name to reuse, for themselves or shared.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import fields

import sqlalchemy as sa
from flask_babel import lazy_gettext as _

from ..extensions import db
from ..models import ColumnMapping, User
from ..vocabulary import DEMAND, OFFERING
from . import postings
from .errors import ValidationFailed
from .spreadsheets import ImportFailed, Problem

INPUTS = {DEMAND: postings.DemandInput, OFFERING: postings.OfferingInput}
# Input fields whose import column has another name; every other column is named as its field.
COLUMNS = {"industries_served": "industries"}
REQUIRED = ("ref", "title", "description")
NAME_LIMIT = ColumnMapping.__table__.c["name"].type.length

# Header spellings seen on demand and supply lists, besides the column's own name; compared normalised.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ref": ("reference", "id", "no", "編號", "编号", "需求編號", "需求编号", "供給編號", "供给编号", "序號", "序号"),
    "title": (
        "name",
        "demand name",
        "demand",
        "solution name",
        "solution",
        "product name",
        "需求名稱",
        "需求名称",
        "需求",
        "標題",
        "标题",
        "場景名稱",
        "场景名称",
        "解決方案名稱",
        "解决方案名称",
        "方案名稱",
        "方案名称",
        "產品名稱",
        "产品名称",
    ),
    "description": (
        "details",
        "summary",
        "需求描述",
        "描述",
        "詳情",
        "详情",
        "需求內容",
        "需求内容",
        "方案簡介",
        "方案简介",
        "簡介",
        "简介",
        "方案描述",
        "痛點描述",
        "痛点描述",
    ),
    "organization": (
        "organisation",
        "company",
        "company name",
        "enterprise",
        "vendor",
        "manufacturer",
        "企業名稱",
        "企业名称",
        "公司名稱",
        "公司名称",
        "單位名稱",
        "单位名称",
        "企業",
        "企业",
        "供應商",
        "供应商",
        "服務商",
        "服务商",
    ),
    "city": ("location", "所在城市", "城市", "所在地", "地市"),
    "industry": ("industry code", "行業", "行业", "所屬行業", "所属行业", "行業代碼", "行业代码"),
    "industries": ("industries served", "服務行業", "服务行业", "適用行業", "适用行业", "行業", "行业"),
    "scenarios": ("scenario", "應用場景", "应用场景", "場景", "场景", "場景類別", "场景类别"),
    "budget_min": ("minimum budget", "預算下限", "预算下限", "最低預算", "最低预算"),
    "budget_max": ("maximum budget", "budget", "預算上限", "预算上限", "最高預算", "最高预算", "預算", "预算"),
    "timeline": ("時間要求", "时间要求", "期限", "時間表", "时间表", "計劃時間", "计划时间"),
    "deployment": ("部署方式", "部署"),
    "deployment_modes": ("deployment", "部署方式", "部署"),
    "vouchers": ("voucher", "券種", "券种", "申請券種", "申请券种", "補貼券", "补贴券"),
    "data_available": ("data", "現有數據", "现有数据", "數據情況", "数据情况", "數據基礎", "数据基础"),
    "expires_on": ("expiry", "deadline", "截止日期", "有效期至", "截止時間", "截止时间"),
    "price_min": ("minimum price", "價格下限", "价格下限", "最低價格", "最低价格", "報價下限", "报价下限"),
    "price_max": ("maximum price", "price", "價格上限", "价格上限", "最高價格", "最高价格", "報價", "报价"),
    "regions": ("regions served", "service regions", "服務地區", "服务地区", "服務區域", "服务区域"),
    "case_studies": ("cases", "案例", "成功案例", "應用案例", "应用案例"),
    "capacity": ("服務能力", "服务能力", "可承接項目數", "可承接项目数", "承接能力"),
    "language": ("語言", "语言"),
}


def import_columns(kind: str) -> list[str]:
    """Return the import columns of a kind, in the order a sheet usually has them."""
    return ["ref", "organization", *(COLUMNS.get(f.name, f.name) for f in fields(INPUTS[kind]))]


def normalise(header: str) -> str:
    """Return a header folded for comparison: width, case, spaces, underscores and marks like ＊ or （）."""
    folded = unicodedata.normalize("NFKC", str(header)).casefold()
    return re.sub(r"[\s_\-*:：()（）\[\]【】]+", " ", folded).strip()


def suggest(header: list[str], kind: str, saved: dict[str, str] | None = None) -> dict[str, str]:
    """Return the column each header feeds ("" for none): a saved choice, its own name, then a synonym."""
    known = import_columns(kind)
    lookup: dict[str, str] = {}
    for column in known:  # a column's own name beats another column's synonym
        lookup.setdefault(normalise(column), column)
    for column in known:
        for synonym in SYNONYMS.get(column, ()):
            lookup.setdefault(normalise(synonym), column)
    chosen: dict[str, str] = {}
    for name in header:
        if saved and name in saved and saved[name] in ("", *known):
            chosen[name] = saved[name]
            continue
        column = lookup.get(normalise(name), "")
        chosen[name] = column if column not in chosen.values() else ""
    return chosen


def check(columns: dict[str, str], kind: str) -> None:
    """Refuse a mapping that feeds one column twice, names an unknown one, or leaves a required one out."""
    known = import_columns(kind)
    problems: list[Problem] = []
    fed: dict[str, str] = {}
    for header, column in columns.items():
        if not column:
            continue
        if column not in known:
            problems.append(Problem(_("Unknown import column %(column)s.", column=column), column=header))
        elif column in fed:
            message = _(
                "Both %(first)s and %(second)s feed %(column)s.", first=fed[column], second=header, column=column
            )
            problems.append(Problem(message, column=header))
        fed.setdefault(column, header)
    problems += [
        Problem(_("No column feeds %(column)s, which every row needs.", column=column))
        for column in REQUIRED
        if column not in fed
    ]
    if problems:
        raise ImportFailed(problems)


def apply(rows: list[dict], columns: dict[str, str]) -> list[dict]:
    """Return the rows keyed by import column, leaving out the columns that feed none."""
    pairs = [(header, column) for header, column in columns.items() if column]
    return [{column: row.get(header, "") for header, column in pairs} for row in rows]


# ---------------------------------------------------------------- saved mappings


def visible_mappings(user: User, kind: str) -> list[ColumnMapping]:
    """Return the saved mappings of a kind the user may use: their own and the shared ones, by name."""
    query = sa.select(ColumnMapping).where(
        ColumnMapping.kind == kind, sa.or_(ColumnMapping.owner_id == user.id, ColumnMapping.shared.is_(True))
    )
    return list(db.session.scalars(query.order_by(ColumnMapping.name, ColumnMapping.id)))


def save_mapping(user: User, kind: str, name: str, columns: dict[str, str], shared: bool) -> ColumnMapping:
    """Save the columns under a name of the user's, replacing their mapping of that name; commit."""
    name = name.strip()
    if not name or len(name) > NAME_LIMIT:
        raise ValidationFailed(_("Give the mapping a name of at most %(count)d characters.", count=NAME_LIMIT), "name")
    check(columns, kind)
    mapping = db.session.scalar(
        sa.select(ColumnMapping).filter_by(owner_id=user.id, kind=kind, name=name)
    ) or ColumnMapping(owner_id=user.id, kind=kind, name=name)
    mapping.columns, mapping.shared = dict(columns), shared
    db.session.add(mapping)
    db.session.commit()
    return mapping


def find_mapping(name: str, kind: str) -> ColumnMapping:
    """Return the saved mapping of this name for the command line: a shared one first, else the only one."""
    found = list(db.session.scalars(sa.select(ColumnMapping).filter_by(kind=kind, name=name)))
    shared = [m for m in found if m.shared]
    if len(shared) == 1 or len(found) == 1:
        return (shared or found)[0]
    if not found:
        raise ImportFailed([_("No saved mapping named %(name)s.", name=name)])
    raise ImportFailed([_("Several people saved a mapping named %(name)s; use a JSON mapping file.", name=name)])
