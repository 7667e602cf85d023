"""examples/inference/nearest_verse.py finds the verse a paraphrase was made from."""

import importlib.util

from tests.conftest import EXAMPLES


def test_nearest_verse_example(capsys):
    spec = importlib.util.spec_from_file_location("nearest_verse",
                                                  EXAMPLES / "inference" / "nearest_verse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    hits = module.main(["In the beginning God made the sky and the land.", "--corpus", "200"])
    assert hits[0][1] == "In the beginning God created the heavens and the earth."
    assert hits[0][0] > hits[1][0] and "heavens" in capsys.readouterr().out
