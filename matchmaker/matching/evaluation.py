"""Retrieval evaluation: nDCG@10, recall@5 and MRR@10 for demand→offering ranking on a labelled set.

A set is a folder in the import format: demands.csv, offerings.csv (ref, title, description, and
optional facet columns) and qrels.tsv (demand_ref, offering_ref, grade; 2 = solves it, 1 = partly).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .encoders import Encoder
from .facts import PostingFacts
from .ranking import RankingWeights
from .retrieval import PostingCorpus, rank
from .tagging import tag_industries, tag_scenarios
from .text import detect_language, posting_text, tokenize

RANKERS = {
    "dense": ("dense",),
    "lexical": ("lexical",),
    "full": None,  # every signal, as the app ranks
}


@dataclass
class EvalSet:
    """Demands and offerings as facts, with graded judgements."""

    name: str
    demands: list[PostingFacts]
    offerings: list[PostingFacts]
    qrels: dict[str, dict[str, int]]
    refs: dict[int, str] = field(default_factory=dict)


def builtin_sets() -> dict[str, Path]:
    """Return the evaluation sets shipped with the package."""
    root = Path(str(resources.files("matchmaker") / "evaldata"))
    return {p.name: p for p in sorted(root.iterdir()) if (p / "qrels.tsv").exists()} if root.exists() else {}


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").replace("|", ";").replace(",", ";").split(";") if v.strip()]


def _facts(row: dict, kind: str, posting_id: int) -> PostingFacts:
    """Build a posting's facts from a CSV row, tagging scenarios and industries from its text."""
    text = posting_text(row.get("title", ""), row.get("description", ""))
    given = _split(row.get("industry")) + _split(row.get("industries"))
    tagged = tag_industries(text)
    # As in the app: a demand's chosen industry stands alone; an offering adds the industries its text names.
    industries = given or tagged if kind == "demand" else list(dict.fromkeys(given + tagged))
    return PostingFacts(
        id=posting_id,
        kind=kind,
        ref=row["ref"],
        title=row.get("title", ""),
        text=text,
        language=row.get("language") or detect_language(text),
        scenarios=list(dict.fromkeys(_split(row.get("scenarios")) + tag_scenarios(text))),
        industries=industries,
        city=row.get("city", "") or "",
        regions=_split(row.get("regions")),
    )


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def load_set(folder: Path) -> EvalSet:
    """Read an evaluation set from a folder."""
    demands = [_facts(r, "demand", i) for i, r in enumerate(_read_csv(folder / "demands.csv"), 1)]
    offerings = [_facts(r, "offering", i) for i, r in enumerate(_read_csv(folder / "offerings.csv"), 1)]
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with (folder / "qrels.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels[row["demand_ref"]][row["offering_ref"]] = int(row["grade"])
    judged = [d for d in demands if d.ref in qrels]
    return EvalSet(folder.name, judged, offerings, dict(qrels))


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    """Return graded nDCG@k with gain 2^grade - 1."""
    dcg = sum((2 ** grades.get(ref, 0) - 1) / math.log2(i + 2) for i, ref in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], grades: dict[str, int], k: int = 5) -> float:
    """Return the share of the best-graded offerings found in the top k."""
    best = max(grades.values(), default=0)
    relevant = {ref for ref, g in grades.items() if g == best and g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    """Return the reciprocal rank of the first best-graded offering within the top k."""
    best = max(grades.values(), default=0)
    return next((1.0 / (i + 1) for i, ref in enumerate(ranked[:k]) if grades.get(ref, 0) == best > 0), 0.0)


def language_pair(demand: PostingFacts, grades: dict[str, int], languages: dict[str, str]) -> str:
    """Return 'demand language→language of its best offerings', e.g. 'zh-Hans→en'."""
    best = max(grades.values(), default=0)
    targets = sorted({languages[r] for r, g in grades.items() if g == best and r in languages})
    return f"{demand.language}→{targets[0] if len(targets) == 1 else 'mixed'}"


def is_cross_language(demand: PostingFacts, grades: dict[str, int], languages: dict[str, str]) -> bool:
    """Return whether all of a demand's best offerings are in another language or script."""
    best = max(grades.values(), default=0)
    return all(languages.get(r) != demand.language for r, g in grades.items() if g == best)


def _index(
    evalset: EvalSet, encoder: Encoder, progress: Callable[[str], None] | None = None
) -> tuple[PostingCorpus, np.ndarray]:
    """Encode and index the set's offerings, and encode its demands."""
    batch = [o.text for o in evalset.offerings]
    corpus = PostingCorpus("offering", encoder.dimension)
    vectors = encoder.encode(batch, kind="document") if batch else None
    for facts, vector in zip(evalset.offerings, vectors if vectors is not None else []):
        corpus.upsert(facts.id, vector, tokenize(facts.text))
    if progress:
        progress(f"indexed {len(corpus)} offerings")
    queries = encoder.encode([d.text for d in evalset.demands], kind="query")
    return corpus, queries


def evaluate(
    evalset: EvalSet, encoder: Encoder, weights: RankingWeights, progress: Callable[[str], None] | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    """Return metrics per ranker: overall, cross-language and per language pair."""
    corpus, queries = _index(evalset, encoder, progress)
    facts = {o.id: o for o in evalset.offerings}

    def lookup(ids: list[int]) -> dict[int, PostingFacts]:
        return {i: facts[i] for i in ids if i in facts}

    refs = {o.id: o.ref for o in evalset.offerings}
    languages = {o.ref: o.language for o in evalset.offerings}
    results = {}
    for name, signals in RANKERS.items():
        ranker_weights = weights if signals is None else weights.only(*signals)
        rows = []
        for demand, vector in zip(evalset.demands, queries):
            grades = evalset.qrels[demand.ref]
            signals = corpus.signals(vector, tokenize(demand.text))
            ranked = [refs[c.id] for c in rank(demand, signals, lookup, ranker_weights)]
            rows.append(
                (
                    language_pair(demand, grades, languages),
                    is_cross_language(demand, grades, languages),
                    ndcg_at(ranked, grades),
                    recall_at(ranked, grades),
                    mrr_at(ranked, grades),
                )
            )
        results[name] = _summarise(rows)
    return results


# One demand's result: its language pair, whether it is cross-language, nDCG@10, recall@5 and MRR.
Row = tuple[str, bool, float, float, float]


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _summarise(rows: list[Row]) -> dict[str, dict[str, float]]:
    """Average metrics overall, on cross-language demands and per language pair."""

    def block(selected: list[Row]) -> dict[str, float]:
        return {
            "n": len(selected),
            "ndcg@10": _mean(r[2] for r in selected),
            "recall@5": _mean(r[3] for r in selected),
            "mrr": _mean(r[4] for r in selected),
        }

    summary = {"all": block(rows), "cross-language": block([r for r in rows if r[1]])}
    for pair in sorted({r[0] for r in rows}):
        summary[pair] = block([r for r in rows if r[0] == pair])
    return summary


def format_table(backend: str, evalset: str, results: dict[str, dict[str, dict[str, float]]]) -> str:
    """Render the metrics as a plain-text table."""
    lines = [
        f"set: {evalset}   encoder: {backend}",
        f"{'ranker':<8} {'subset':<18} {'n':>4} {'nDCG@10':>8} {'R@5':>6} {'MRR':>6}",
    ]
    for ranker, summary in results.items():
        for subset, m in summary.items():
            if not m["n"]:
                continue  # e.g. no cross-language demands in a one-language set
            lines.append(
                f"{ranker:<8} {subset:<18} {m['n']:>4} {m['ndcg@10']:>8.3f} {m['recall@5']:>6.3f} {m['mrr']:>6.3f}"
            )
    return "\n".join(lines)
