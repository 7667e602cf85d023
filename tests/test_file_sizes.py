"""No Python file of the project (package, tests, benchmarks, examples) is over 400 lines:
a file that grows past that holds two ideas (the design rule of thumb, issue 16)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 400


def test_no_python_file_is_over_400_lines():
    files = [p for folder in ("src", "tests", "benchmarks", "examples")
             for p in (ROOT / folder).rglob("*.py")]
    assert len(files) > 100  # the tree was found
    long = {str(p.relative_to(ROOT)): n for p in files
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT}
    assert not long, f"files over {LIMIT} lines: {long}"
