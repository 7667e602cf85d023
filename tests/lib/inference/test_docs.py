"""docs/inference.md runs as written: its Python code blocks, in order, in one namespace."""

from tests.conftest import ROOT
from tests.docs.test_tutorial import run_page

PAGE = ROOT / "docs" / "inference.md"


def test_inference_page_runs(capsys):
    assert run_page(PAGE, "inference_docs") == 3
    printed = capsys.readouterr().out
    assert "(3, 384) float32 [1. 1. 1.]" in printed
    assert "['last_hidden_state'] (3, 13, 384)" in printed
    assert "openvino on cpu" in printed and "min cosine 1.0000" in printed
