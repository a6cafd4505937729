"""Sanity checks and summary figures for the evaluation sets in this folder.

Usage: python matchmaker/evaldata/validate.py
"""

import csv
import os
import sys
from collections import Counter, defaultdict

from matchmaker.vocabulary import TEXT_LANGUAGES

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = [
    "rd_design",
    "drawing_generation",
    "virtual_validation",
    "process_design",
    "visual_inspection",
    "parameter_optimisation",
    "formula_optimisation",
    "energy_management",
    "carbon_environment",
    "intelligent_sorting",
    "fault_warning",
    "production_scheduling",
    "demand_forecasting",
    "warehouse_logistics",
    "safety_monitoring",
    "digital_twin",
    "quality_traceability",
    "supply_chain",
    "robot_operations",
    "knowledge_assistant",
    "customer_service",
    "remote_operations",
]
# characters that exist in only one of the two scripts (a small spot-check list)
HANS_ONLY = set(
    "这们个来对时说为会过还没发问题现产线机检测质经营业厂车门电费设备计划单数据报处动应该们见样东买卖长开关间听读写让认识记语车轮运输钢铁铜铝级纸织纺调"
)
HANT_ONLY = set(
    "這們個來對時說為會過還沒發問題現產線機檢測質經營業廠車門電費設備計劃單數據報處動應該見樣東買賣長開關間聽讀寫讓認識記語輪運輸鋼鐵銅鋁級紙織紡調"
)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_qrels(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def split(v):
    return [x for x in (v or "").split(";") if x]


def check(name, problems):
    d = os.path.join(HERE, name)
    dem = read_csv(os.path.join(d, "demands.csv"))
    off = read_csv(os.path.join(d, "offerings.csv"))
    qr = read_qrels(os.path.join(d, "qrels.tsv"))
    print(f"\n== {name}: {len(dem)} demands, {len(off)} offerings, {len(qr)} qrels")
    drefs = [r["ref"] for r in dem]
    orefs = [r["ref"] for r in off]
    for label, refs in (("demand", drefs), ("offering", orefs)):
        dup = [r for r, c in Counter(refs).items() if c > 1]
        if dup:
            problems.append(f"{name}: duplicate {label} refs {dup}")
    if set(drefs) & set(orefs):
        problems.append(f"{name}: refs shared between demands and offerings")
    dset, oset = set(drefs), set(orefs)
    g2 = defaultdict(list)
    seen = set()
    for q in qr:
        if q["demand_ref"] not in dset or q["offering_ref"] not in oset:
            problems.append(f"{name}: qrel refers to unknown ref {q}")
        if q["grade"] not in ("1", "2"):
            problems.append(f"{name}: bad grade {q}")
        key = (q["demand_ref"], q["offering_ref"])
        if key in seen:
            problems.append(f"{name}: duplicate qrel {key}")
        seen.add(key)
        if q["grade"] == "2":
            g2[q["demand_ref"]].append(q["offering_ref"])
    missing = [r for r in drefs if not g2.get(r)]
    if missing:
        problems.append(f"{name}: demands without grade-2 offering {missing}")
    olang = {r["ref"]: r["language"] for r in off}
    for rows, label in ((dem, "demands"), (off, "offerings")):
        bad = [r["ref"] for r in rows if r["language"] not in TEXT_LANGUAGES]
        if bad:
            problems.append(f"{name}: bad language in {label} {bad}")
        for r in rows:
            text = r["title"] + r["description"]
            if r["language"] == "zh-Hans" and set(text) & HANT_ONLY:
                problems.append(f"{name}: {r['ref']} marked zh-Hans has Traditional chars {set(text) & HANT_ONLY}")
            if r["language"] == "zh-Hant" and set(text) & HANS_ONLY:
                problems.append(f"{name}: {r['ref']} marked zh-Hant has Simplified chars {set(text) & HANS_ONLY}")
        print(f"  {label} languages:", dict(Counter(r["language"] for r in rows)))
    cross = sum(1 for r in dem if all(olang[o] != r["language"] for o in g2[r["ref"]]))
    print(
        f"  demands whose grade-2 offerings are all in another language/script: "
        f"{cross}/{len(dem)} = {cross / len(dem):.1%}"
    )
    grades = Counter(q["grade"] for q in qr)
    print(
        f"  qrels by grade: {dict(grades)}; mean grade-2 per demand "
        f"{grades['2'] / len(dem):.2f}, mean grade-1 per demand {grades.get('1', 0) / len(dem):.2f}"
    )
    return dem, off


def coverage(dem, off, problems):
    ds = Counter(s for r in dem for s in split(r["scenarios"]))
    os_ = Counter(s for r in off for s in split(r["scenarios"]))
    for s in list(ds) + list(os_):
        if s not in SCENARIOS:
            problems.append(f"unknown scenario key {s}")
    di = Counter(r["industry"] for r in dem if r["industry"])
    oi = Counter(i for r in off for i in split(r["industries"]))
    for code in list(di) + list(oi):
        if not (code.isdigit() and 13 <= int(code) <= 43):
            problems.append(f"industry code out of range {code}")
    empty_d = sum(1 for r in dem if not r["scenarios"])
    empty_o = sum(1 for r in off if not r["scenarios"])
    print(
        f"  demands with empty scenarios: {empty_d}/{len(dem)} ({empty_d / len(dem):.0%}); "
        f"offerings with empty scenarios: {empty_o}/{len(off)} ({empty_o / len(off):.0%})"
    )
    print(
        f"  scenario keys used by demands: {len(ds)}/22; by offerings: {len(os_)}/22; "
        f"union {len(set(ds) | set(os_))}/22"
    )
    print(f"  industries used by demands: {len(di)} {dict(sorted(di.items()))}")
    print(f"  industries used by offerings: {len(oi)}")


def main():
    problems = []
    dem, off = check("bilingual", problems)
    coverage(dem, off, problems)
    # scenario coverage measured over qrels: scenario keys of the grade-2 offerings
    pdem, poff = check("paraphrase_zh", problems)
    for rows in (pdem,):
        for r in rows:
            if r["title"] != r["description"] or not 6 <= len(r["title"]) <= 25:
                problems.append(f"paraphrase_zh: bad query {r['ref']}")
    texts = [r["title"] for r in pdem] + [r["title"] for r in poff]
    dup = [t for t, c in Counter(texts).items() if c > 1]
    if dup:
        problems.append(f"paraphrase_zh: duplicate texts {dup}")
    print(f"  paraphrase_zh distractors: {len(poff) - len(pdem)}")
    print("\nproblems:" if problems else "\nno problems found")
    for p in problems:
        print("  -", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
