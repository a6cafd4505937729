"""A contract test: every encoder backend honours the same interface."""

import numpy as np
import pytest

from matchmaker.matching.encoders import SentenceTransformerEncoder, UseEncoder, load_encoder

from .factories import minilm_path

TEXTS = ["布面上的跳纱、破洞全靠老师傅肉眼看", "紡織面料瑕疵AI視覺檢測", "fabric defect detection", "", "窑炉故障预警"]


@pytest.fixture(scope="module", params=["use", "sentence-transformers"])
def encoder(request):
    if request.param == "use":
        return UseEncoder()
    return SentenceTransformerEncoder(minilm_path(), query_prompt="query: ", document_prompt="passage: ")


def test_vectors_are_unit_float32_rows(encoder):
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), encoder.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[[0, 1, 2, 4]], axis=1), 1.0, atol=1e-5)


def test_empty_input_gives_an_empty_matrix(encoder):
    assert encoder.encode([]).shape == (0, encoder.dimension)


def test_batching_does_not_change_a_vector(encoder):
    alone = encoder.encode([TEXTS[2]])[0]
    in_batch = encoder.encode(TEXTS)[2]
    assert np.allclose(alone, in_batch, atol=1e-4)


def test_fingerprint_names_backend_model_and_dimension(encoder):
    backend, dimension = encoder.fingerprint.split(":")[0], encoder.fingerprint.rsplit(":", 1)[1]
    assert backend in ("use", "st") and int(dimension) == encoder.dimension


def test_similar_texts_score_higher_than_unrelated(encoder):
    a, b, c = encoder.encode(["fabric defect detection", "detecting defects on fabric", "compressor energy bill"])
    assert a @ b > a @ c


def test_prompts_apply_to_queries_only():
    encoder = SentenceTransformerEncoder(minilm_path(), query_prompt="query: ", document_prompt="")
    query, document = encoder.encode(["fabric defect"], kind="query")[0], encoder.encode(["fabric defect"])[0]
    assert not np.allclose(query, document)


def test_load_encoder_loads_once_per_process():
    assert load_encoder() is load_encoder()
    assert load_encoder(minilm_path()) is load_encoder(minilm_path())


@pytest.mark.slow
def test_onnx_backends_are_exported_once_and_agree_with_pytorch(tmp_path):
    pytest.importorskip("onnxruntime")
    texts = [*TEXTS[:3], TEXTS[4], "Predictive maintenance from vibration sensors on spindles"]
    reference = SentenceTransformerEncoder(minilm_path()).encode(texts)
    onnx = SentenceTransformerEncoder(minilm_path(), backend="onnx", cache_dir=tmp_path)
    exported = list(tmp_path.glob("*/onnx/model.onnx"))
    assert len(exported) == 1 and onnx.fingerprint == SentenceTransformerEncoder(minilm_path()).fingerprint
    assert np.min(np.sum(onnx.encode(texts) * reference, axis=1)) > 0.999
    stamp = exported[0].stat().st_mtime_ns
    int8 = SentenceTransformerEncoder(minilm_path(), backend="onnx-int8", cache_dir=tmp_path)
    assert exported[0].stat().st_mtime_ns == stamp, "the ONNX export is reused, not made again"
    assert int8.fingerprint.endswith(":onnx-int8:384") and list(tmp_path.glob("*/onnx/model_quint8_*.onnx"))
    cosines = np.sum(int8.encode(texts) * reference, axis=1)
    assert np.mean(cosines) > 0.97 and np.min(cosines) > 0.95
    with pytest.raises(ValueError, match="onnx-int8"):
        SentenceTransformerEncoder(minilm_path(), backend="tensorrt")


def test_the_configured_backend_reaches_the_encoder(tmp_path, monkeypatch):
    from matchmaker.matching import encoders

    seen = []
    monkeypatch.setattr(encoders, "_cache", {})
    monkeypatch.setattr(encoders, "SentenceTransformerEncoder", lambda *args, **kw: seen.append(kw) or object())
    config = {
        "MATCHMAKER_EMBEDDING_MODEL": "some/model",
        "MATCHMAKER_QUERY_PROMPT": "",
        "MATCHMAKER_DOCUMENT_PROMPT": "",
        "MATCHMAKER_ENCODER_BACKEND": "onnx-int8",
        "DATA_DIR": str(tmp_path),
    }
    encoders.encoder_from_config(config)
    assert seen == [{"backend": "onnx-int8", "cache_dir": tmp_path / "models"}]
