"""docs/inference.md runs as written: its Python code blocks, in order, in one namespace."""

from tests.conftest import ROOT
from tests.docs.test_tutorial import code_blocks

PAGE = ROOT / "docs" / "inference.md"


def test_inference_page_runs(capsys):
    blocks = code_blocks(PAGE.read_text())
    assert len(blocks) == 3
    namespace = {"__name__": "inference_docs"}
    for start, code in blocks:
        exec(compile(code, f"{PAGE}:{start}", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "(3, 384) float32 [1. 1. 1.]" in printed
    assert "['last_hidden_state'] (3, 13, 384)" in printed
    assert "openvino on cpu" in printed and "min cosine 1.0000" in printed
