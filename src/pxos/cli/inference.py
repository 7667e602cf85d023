"""``pxos embed``, ``pxos quantize`` and ``pxos infer``: sentence embeddings, model
compression and running a model (``pxos.inference``, ``docs/inference.md``).

    pxos embed texts.txt -o emb.npy            one sentence a line → float32 (n, 384)
    pxos quantize MODEL --method int8 -o OUT   compress, then print the report
    pxos infer MODEL --calibrate --explain     measure runtimes, batches, buckets; say why
    pxos infer MODEL in.npz -o out.npz         run the model on the arrays of in.npz

``app`` holds them as commands; ``embed_command``, ``quantize_command`` and
``infer_command`` are the functions to register at the top level.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pxos.cli.report import _guarded, out
from pxos.cli.options import PxApp, PxGroup

app = PxApp(cls=PxGroup, help="Sentence embeddings and model compression (pxos.inference).",
            no_args_is_help=True, add_completion=False)


@app.command("embed")
@_guarded
def embed_command(
        texts: Path = typer.Argument(..., help="a UTF-8 text file, one sentence a line"),
        output: Path = typer.Option(..., "-o", "--output", help="the .npy file to write"),
        model: str = typer.Option("all-MiniLM-L6-v2", "--model", help="model name or folder"),
        batch_size: int = typer.Option(None, "--batch-size", help="sentences per run"),
        device: str = typer.Option("auto", "--device", help="auto, cpu or cuda")):
    """Embed each non-empty line of TEXTS; write float32 (lines × dim), rows L2-normalised."""
    import numpy as np
    from rich.progress import Progress

    from pxos.errors import PxFileError
    from pxos.lib.inference.embed import embed

    try:
        lines = [s for s in texts.read_text(encoding="utf-8").splitlines() if s.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise PxFileError(f"cannot read {texts}: {e}") from None
    with Progress(console=out.console(), transient=True) as bar:
        task = bar.add_task("embedding", total=len(lines))
        emb = embed(lines, model, batch_size=batch_size, device=device,
                    progress=lambda done: bar.update(task, completed=done))
    np.save(output, emb)
    out.print(f"{output}: {emb.shape[0]} × {emb.shape[1] if emb.ndim == 2 else 0} float32")


@app.command("quantize")
@_guarded
def quantize_command(
        model: str = typer.Argument(..., help="a Hugging Face folder or all-MiniLM-L6-v2"),
        method: str = typer.Option(..., "--method", help="fp16 int8 int8w int4 binary ternary"),
        output: Path = typer.Option(..., "-o", "--output", help="the folder to write"),
        sentences: int = typer.Option(1000, "--sentences", help="verses for the report"),
        calibration: int = typer.Option(300, "--calibration", help="verses to calibrate int8"),
        as_json: bool = typer.Option(False, "--json", help="print the report as JSON")):
    """Compress MODEL by METHOD into OUTPUT; report size on disk, cosine to FP32 and top-1
    neighbour agreement on real sentences, and throughput."""
    from pxos.lib.inference.quantize import evaluate, quantize
    from pxos.lib.inference.sentences import verses

    folder = quantize(model, method, output, calibration=calibration)
    report = {"method": method, **evaluate(folder, verses(sentences, step=31), model=model)}
    if as_json:
        out.print(json.dumps(report))
        return
    out.print(f"{folder}: {report['size_mb']:.1f} MB, cosine to FP32 mean "
              f"{report['mean_cosine']:.4f} min {report['min_cosine']:.4f}, top-1 agreement "
              f"{report['top1_agreement']:.3f}, {report['sentences_per_s']:.1f} sentences/s")


@app.command("infer")
@_guarded
def infer_command(
        model: str = typer.Argument(..., help="a model file or folder, or all-MiniLM-L6-v2"),
        inputs: Path = typer.Argument(None, help="a .npz of the model's inputs by name"),
        output: Path = typer.Option(None, "-o", "--output", help="the .npz to write"),
        explain: bool = typer.Option(False, "--explain", help="say which runtime, device, "
                                     "batch and buckets run the model, and why"),
        calibrate: bool = typer.Option(False, "--calibrate", help="first measure the model "
                                       "on every runtime and device here, and keep that"),
        device: str = typer.Option("auto", "--device", help="auto, cpu or cuda"),
        precision: str = typer.Option("auto", "--precision", help="auto fp32 fp16 bf16")):
    """Run MODEL on the arrays of INPUTS (.npz) into OUTPUT (.npz); --calibrate measures
    the model first, --explain prints the choice and the figures behind it."""
    import numpy as np

    from pxos.errors import PxArgumentError, PxFileError
    from pxos.lib.inference import explain as explain_plan
    from pxos.lib.inference import infer

    if calibrate:
        from pxos.lib.inference.measure import calibrate as measure
        measure(model, precision, progress=out.print)
    if explain or calibrate:
        out.print(explain_plan(model, device, precision))
    if inputs is None:
        if not (explain or calibrate):
            raise PxArgumentError("give INPUTS (.npz), --explain or --calibrate")
        return
    if output is None:
        raise PxArgumentError("give -o OUTPUT.npz for the outputs")
    try:
        with np.load(inputs) as z:
            feeds = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise PxFileError(f"cannot read {inputs}: {e}") from None
    res = infer(model, feeds, device=device, precision=precision)
    tmp = output.with_name(output.name + ".tmp.npz")
    np.savez(tmp, **res)
    tmp.replace(output)
    out.print(f"{output}: " + ", ".join(f"{k} {tuple(v.shape)}" for k, v in res.items()))
