"""Print retrieval quality (nDCG@10, recall@5, MRR) and timing for each shipped evaluation set.

Also runs any extra set given as a folder in the import format, e.g. the external LCQMC check kept
beside the repository (evaluation only; never shipped):

    python bench/bench_retrieval.py ../shared/eval/lcqmc
"""

import sys
import time
from pathlib import Path

from matchmaker.matching.encoders import load_encoder
from matchmaker.matching.evaluation import builtin_sets, evaluate, format_table, load_set
from matchmaker.matching.ranking import RankingWeights


def main(extra: list[str]) -> None:
    start = time.perf_counter()
    encoder = load_encoder()
    print(f"encoder {encoder.fingerprint} loaded in {time.perf_counter() - start:.1f} s")
    folders = list(builtin_sets().values()) + [Path(p) for p in extra]
    for folder in folders:
        begin = time.perf_counter()
        evalset = load_set(folder)
        results = evaluate(evalset, encoder, RankingWeights())
        elapsed = time.perf_counter() - begin
        texts = len(evalset.demands) + len(evalset.offerings)
        print(format_table(encoder.fingerprint, folder.name, results))
        print(f"{folder.name}: {texts} texts tagged, encoded, indexed and ranked in {elapsed:.1f} s\n")


if __name__ == "__main__":
    main(sys.argv[1:])
