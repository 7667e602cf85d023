"""Start-up behaviour (issue 14): what ``import pxos`` and ``pxos --help`` load, and the
`.px` parser's table cache. Times are measured by benchmarks/startup.py, not here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, cache: Path) -> str:
    env = dict(os.environ, PXOS_CACHE_DIR=str(cache), PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_pxos_loads_neither_numpy_nor_the_host_layer(tmp_path):
    out = _python("import sys, pxos; print(sorted(m for m in sys.modules if m == 'numpy' "
                  "or m.startswith(('pxos.host', 'pxos.backends', 'lark', 'typer'))))",
                  tmp_path)
    assert out == "[]"


def test_lazy_names_are_the_real_objects(tmp_path):
    out = _python(
        "import pxos\n"
        "from pxos import kernel, f32\n"
        "from pxos.host.pykernel import kernel as k2\n"
        "from pxos.lang.py.markers import f32 as f2\n"
        "print(kernel is k2, f32 is f2, pxos.f32(1.5) == 1.5, 'asarray' in dir(pxos))\n"
        "try:\n    pxos.no_such_name\nexcept AttributeError as e:\n    print(e)\n", tmp_path)
    assert out.splitlines() == ["True True True True",
                                "module 'pxos' has no attribute 'no_such_name'"]


def test_help_loads_no_numpy(tmp_path):
    out = _python("import sys\nsys.argv = ['pxos', '--help']\nfrom pxos.cli.main import main\n"
                  "try:\n    main()\nexcept SystemExit:\n    pass\n"
                  "print('LOADED', 'numpy' in sys.modules, 'pxos.ir.nodes' in sys.modules,"
                  " 'rich' in sys.modules)",
                  tmp_path)
    # Rich (typer.rich_utils, rich.markdown, pygments) was ~170 ms of --help: Click formats it
    assert out.splitlines()[-1] == "LOADED False False False"
    assert "Usage" in out


def test_shipped_tables_are_current_and_used_without_a_cache(tmp_path):
    from pxos.lang.px import tables

    assert tables.load(tables.grammar()) is not None, \
        "grammar.tables is stale: run python3 -m pxos.lang.px.tables"
    code = ("from pxos.lang.px.parser import parse_file\n"
            f"p = parse_file({str(ROOT / 'examples' / 'saxpy.px')!r})\n"
            "print(len(p.kernels), len(p.statements), p.kernels[0].name)")
    out = _python(code, tmp_path).split()
    assert out[2] == "saxpy" and int(out[1]) > 3
    assert not (tmp_path / "parser").exists()  # nothing built, nothing cached


def test_tables_of_another_grammar_or_damaged_ones_are_not_used(tmp_path):
    from pxos.lang.px import tables

    text = tables.grammar()
    path = tables.write(tmp_path / "t.tables")
    assert tables.load(text, path).parse("GPU_END").data == "k_end"
    assert tables.load(text + "\n// edited", path) is None
    data = bytearray(path.read_bytes())
    data[-10] ^= 1
    path.write_bytes(bytes(data))
    assert tables.load(text, path) is None
    assert tables.load(text, tmp_path / "missing") is None


def test_parser_tables_are_cached_and_a_damaged_cache_is_rebuilt(tmp_path):
    code = ("from pxos.lang.px.lines import _parser\n"  # the contextual lexer is not shipped
            "print(_parser('contextual').parse('SET LEVEL = 1').children[0])")
    first = _python(code, tmp_path)
    files = sorted((tmp_path / "parser").iterdir())
    assert [f.name.split("-")[1] for f in files] == ["contextual"]
    assert files[0].stat().st_size > 1000
    assert _python(code, tmp_path) == first == "LEVEL"  # loaded from the cache
    files[0].write_bytes(b"damaged\n" + os.urandom(64))
    assert _python(code, tmp_path) == first  # rebuilt, same tree
    assert files[0].stat().st_size > 1000


def test_both_lexers_give_the_same_trees_and_users_see_the_contextual_errors():
    import lark
    import pytest

    from pxos.lang.px.lines import _parse, _parser

    count = 0
    for path in sorted((ROOT / "examples").glob("*.px")):
        for line in path.read_text().splitlines():
            if line.strip() and not line.strip().startswith("#"):
                assert _parse(line) == _parser("contextual").parse(line), line
                count += 1
    assert count > 100
    with pytest.raises(lark.UnexpectedToken) as got:
        _parse("RUN k a b =")
    with pytest.raises(lark.UnexpectedToken) as want:
        _parser("contextual").parse("RUN k a b =")
    assert got.value.expected == want.value.expected
    assert got.value.token == want.value.token
