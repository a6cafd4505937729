"""Benchmark: ranking offerings for one demand at 10k / 100k / 1M offerings, against raw faiss + raw bm25s.

    python bench/bench_propose.py [--sizes 10000,100000] [--queries 200] [--approximate-from 500000]
    python bench/bench_propose.py --index-only --sizes 1000000 --nprobe 8,16,32,64

--index-only measures the vector index alone, as the engine builds it (matching.vector_index.VectorIndex,
which turns itself into an inverted file (IVF) from --approximate-from rows): build time and memory, then
per query the dense search ranking makes (top CANDIDATE_POOL) at each --nprobe, p50/p95/p99, and
recall@10 of that search against an exact faiss flat scan of the same vectors. No text is tokenised
and no BM25 built: at 1M offerings the full pipeline would spend many minutes segmenting text alone.

Offerings are reworded seed postings (bench/benchlib.py). Encoding a million texts would take hours
on two cores, so the first --encode texts are embedded by the project's encoder and every further
offering's vector is one of those plus seeded Gaussian noise (--noise, cosine ~0.9 to its source),
re-normalised. Every offering's text is tokenised for BM25 for real.

Per query it times, separately: the query's encoding (the encoder, one text), the project's ranking
(`matching.retrieval.rank`: dense and BM25 candidates, fusion with facets) excluding encoding, and the
raw libraries doing the candidate work on the same data (a faiss IndexFlatIP top-200 search plus a
bm25s get_scores and top-200 selection). For an approximate index it reports recall@10 against exact.
"""

from __future__ import annotations

import argparse
import time

import bm25s
import faiss
import numpy as np
from benchlib import generated, machine, peak_rss_mb, percentiles, print_machine, timed, vectors_for, write_results

from matchmaker.matching.encoders import load_encoder
from matchmaker.matching.facts import PostingFacts
from matchmaker.matching.ranking import RankingWeights
from matchmaker.matching.retrieval import CANDIDATE_POOL, PostingCorpus, rank
from matchmaker.matching.text import posting_text, tokenize
from matchmaker.matching.vector_index import IndexOptions, VectorIndex, set_search_threads


def _facts(i: int, row: dict, kind: str) -> PostingFacts:
    return PostingFacts(
        id=i,
        kind=kind,
        ref=row["ref"],
        title=row["title"],
        text=posting_text(row["title"], row["description"]),
        language=row.get("language", "en"),
        organization_id=i % 997,
        scenarios=list(row.get("scenarios", [])),
        industries=list(row.get("industries_served", row.get("industries", []))),
        city=row.get("city", ""),
        regions=list(row.get("regions", [])),
        money_min=row.get("price_min", row.get("budget_min")),
        money_max=row.get("price_max", row.get("budget_max")),
        deployments=list(row.get("deployment_modes", [])),
        capacity_left=row.get("capacity"),
    )


def run_size(size: int, args, encoder, queries: list[dict]) -> dict:
    print(f"\n== {size} offerings")
    rows = generated("offering", size)
    texts = [posting_text(r["title"], r["description"]) for r in rows]
    vectors, encode_rate = vectors_for(encoder, texts, args.encode, args.noise)
    started = time.perf_counter()
    tokens = [tokenize(t) for t in texts]
    tokenise_s = time.perf_counter() - started
    ids = np.arange(1, size + 1, dtype=np.int64)
    facts = {int(i): _facts(int(i), r, "offering") for i, r in zip(ids, rows)}

    corpus = PostingCorpus("offering", encoder.dimension, IndexOptions(args.approximate_from, int(args.nprobe)))
    (_, index_ms) = timed(corpus.vectors.add, ids.tolist(), vectors)
    for i, words in zip(ids.tolist(), tokens):
        corpus.lexical.add(i, words)
        corpus.tokens[i] = words
    raw_faiss = faiss.IndexFlatIP(encoder.dimension)
    raw_faiss.add(vectors)
    raw_bm25 = bm25s.BM25()
    _, bm25_build_ms = timed(raw_bm25.index, [t or [""] for t in tokens], show_progress=False)

    q_texts = [posting_text(q["title"], q["description"]) for q in queries]
    encode_ms, q_vectors = [], []
    for text in q_texts:
        vec, ms = timed(encoder.encode, [text], kind="query")
        encode_ms.append(ms)
        q_vectors.append(vec[0])
    q_tokens = [tokenize(t) for t in q_texts]
    q_facts = [_facts(-1 - n, q, "demand") for n, q in enumerate(queries)]
    weights = RankingWeights()

    def ranked(query, vector, words, lookup):  # what the project does for one demand: signals, then fusion
        return rank(query, corpus.signals(vector, words), lookup, weights)

    _, first_ms = timed(ranked, q_facts[0], q_vectors[0], q_tokens[0], lambda ids: facts)

    def lookup(wanted):
        return {i: facts[i] for i in wanted if i in facts}

    project, raw, recalls = [], [], []
    for qf, vec, words in zip(q_facts, q_vectors, q_tokens):
        _, ms = timed(ranked, qf, vec, words, lookup)
        project.append(ms)
        started = time.perf_counter()
        _, exact_ids = raw_faiss.search(vec.reshape(1, -1), CANDIDATE_POOL)
        known = [w for w in words if w in raw_bm25.vocab_dict]
        if known:
            scores = raw_bm25.get_scores(known)
            np.argpartition(-scores, min(CANDIDATE_POOL, len(scores) - 1))[:CANDIDATE_POOL]
        raw.append((time.perf_counter() - started) * 1000)
        if corpus.vectors.approximate:
            got = {i for i, _ in corpus.vectors.search(vec.reshape(1, -1), 10)[0]}
            recalls.append(len(got & set((exact_ids[0][:10] + 1).tolist())) / 10)
    figures = {
        "offerings": size,
        "approximate_index": corpus.vectors.approximate,
        "encoder_texts_per_s_documents": round(encode_rate, 1),
        "tokenise_s": round(tokenise_s, 1),
        "index_build_ms": round(index_ms, 1),
        "raw_bm25_build_ms": round(bm25_build_ms, 1),
        "first_query_ms_incl_bm25_build": round(first_ms, 1),
        "query_encoding_ms": percentiles(encode_ms),
        "project_rank_ms": percentiles(project),
        "raw_faiss_bm25_ms": percentiles(raw),
        "ratio_p95": round(percentiles(project)["p95"] / max(percentiles(raw)["p95"], 1e-9), 2),
        "peak_rss_mb": peak_rss_mb(),
    }
    if recalls:
        figures["recall_at_10_vs_exact"] = round(float(np.mean(recalls)), 4)
    for key, value in figures.items():
        print(f"  {key}: {value}")
    return figures


def rss_mb() -> float:
    """This process's resident memory now."""
    with open("/proc/self/status") as handle:
        return round(int(next(line for line in handle if line.startswith("VmRSS")).split()[1]) / 1024, 1)


def run_index_only(size: int, args, encoder, queries: list[dict]) -> dict:
    """Build the project's vector index from generated vectors; time its searches and their recall."""
    print(f"\n== {size} offerings, vector index only")
    rows = generated("offering", size)
    texts = [posting_text(r["title"], r["description"]) for r in rows]
    del rows
    vectors, encode_rate = vectors_for(encoder, texts, args.encode, args.noise)
    del texts
    q_vectors = encoder.encode([posting_text(q["title"], q["description"]) for q in queries], kind="query")
    ids = np.arange(1, size + 1, dtype=np.int64)
    before_mb = rss_mb()
    set_search_threads(args.build_threads)
    index = VectorIndex(encoder.dimension, IndexOptions(args.approximate_from))
    _, build_ms = timed(index.add, ids.tolist(), vectors)
    set_search_threads(1)  # as in a web worker
    index_mb = round(rss_mb() - before_mb, 1)
    exact = faiss.IndexFlatIP(encoder.dimension)
    exact.add(vectors)
    truth_scores, truth = exact.search(q_vectors, 10)
    truth = truth + 1  # row n holds id n + 1
    figures = {
        "offerings": size,
        "approximate_index": index.approximate,
        "build_threads": args.build_threads,
        "index_build_s": round(build_ms / 1000, 1),
        "index_memory_mb": index_mb,
        "encoder_texts_per_s_documents": round(encode_rate, 1),
        "by_nprobe": {},
    }
    exact_ms = [timed(exact.search, q.reshape(1, -1), CANDIDATE_POOL)[1] for q in q_vectors]
    figures["exact_flat_search_ms"] = percentiles(exact_ms)
    for nprobe in [int(n) for n in str(args.nprobe).split(",")]:
        if index.approximate:
            index._index.nprobe = nprobe
        samples, recalls, by_score = [], [], []
        for q, want, want_scores in zip(q_vectors, truth, truth_scores):
            found, ms = timed(index.search, q.reshape(1, -1), CANDIDATE_POOL)
            samples.append(ms)
            recalls.append(len({i for i, _ in found[0][:10]} & set(want.tolist())) / 10)
            # derived vectors come in near-identical clusters: count a hit scoring as well as the exact 10th too
            by_score.append(sum(score >= want_scores[-1] - 1e-4 for _, score in found[0][:10]) / 10)
        figures["by_nprobe"][nprobe] = {
            "search_ms": percentiles(samples),
            "recall_at_10_vs_exact": round(float(np.mean(recalls)), 4),
            "top10_scoring_as_exact_10th": round(float(np.mean(by_score)), 4),
        }
    figures["peak_rss_mb"] = peak_rss_mb()
    for key, value in figures.items():
        print(f"  {key}: {value}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="offering counts, e.g. 10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--encode", type=int, default=2000, help="offerings embedded for real; the rest are derived")
    parser.add_argument("--noise", type=float, default=0.02)
    parser.add_argument("--approximate-from", type=int, default=IndexOptions().approximate_from)
    parser.add_argument(
        "--nprobe",
        default=str(IndexOptions().nprobe),
        help="IVF lists an approximate search scans; with --index-only a comma-separated list to compare",
    )
    parser.add_argument("--index-only", action="store_true", help="the vector index alone (see above)")
    parser.add_argument("--build-threads", type=int, default=2, help="faiss threads while --index-only builds")
    parser.add_argument("--model", default="use-multilingual-v3")
    args = parser.parse_args()
    info = machine()
    print_machine(info)
    set_search_threads(1)  # as in a web worker
    encoder = load_encoder(args.model)
    queries = generated("demand", args.queries, start=10_000_000)
    run = run_index_only if args.index_only else run_size
    results = [run(int(s), args, encoder, queries) for s in args.sizes.split(",")]
    name = "propose-index" if args.index_only else "propose"
    write_results(name, info, {"model": encoder.fingerprint, "args": vars(args), "sizes": results})


if __name__ == "__main__":
    main()
