"""INT8 post-training quantization (weights and activations) of an encoder IR with NNCF,
driven by a :class:`Recipe`: the choices that ``benchmarks/int8_recipes.py`` measured on
all-MiniLM-L6-v2 (table in docs/inference.md, "What moved the INT8 figures").

The calibration text is real: World English Bible verses spread over the whole book and
disjoint from the 1,000 verses the reports are measured on (those are every 31st verse;
these are taken from the verses 15 past each of them), tokenized, sorted by length and
padded per batch to its longest.

Why ``overflow_fix`` matters on CPUs without VNNI (AVX2, AVX-512 without VNNI): there
oneDNN multiplies u8 activations by s8 weights with ``vpmaddubsw``, which adds two
products into a saturating int16, so a pair of large activations times a pair of large
weights clips. NNCF's ``OverflowFix.ENABLE`` stores the weights in 7 bits, so that no
pair can reach 2^15 (oneDNN developer guide, "Nuances of int8 computations"; NNCF's
``OverflowFix``). On all-MiniLM-L6-v2 with 8-bit weights the model run on this AVX2 CPU
had mean cosine 0.9954 to FP32, and the same model with its FakeQuantize operations
computed in float 0.9977: the gap is that saturation.
"""

from __future__ import annotations

from dataclasses import dataclass

from pxos.errors import PxArgumentError
from pxos.lib.inference.convert import require
from pxos.lib.inference.embed import pad, tokenize
from pxos.lib.inference.sentences import verses

OVERFLOW_FIXES = ("enable", "first_layer_only", "disable")
RANGES = ("mean_minmax", "minmax")
#: Regular expressions of the MatMuls of a BERT encoder converted by pxos, by role.
ROLES = {
    "ffn_output": r".*layer\.\d+\.output\.dense/.*",
    "ffn_input": r".*layer\.\d+\.intermediate\.dense/.*",
    "attention_output": r".*layer\.\d+\.attention\.output\.dense/.*",
    "qkv": r".*layer\.\d+\.attention\.self\.(query|key|value)/.*",
}


@dataclass(frozen=True)
class Recipe:
    """How :func:`quantize_int8` calls ``nncf.quantize``.

    - ``smooth_quant``: SmoothQuant's α for MatMuls (Xiao et al. 2023, "SmoothQuant";
      NNCF ``AdvancedSmoothQuantParameters.matmul``), or None for off;
    - ``overflow_fix``: ``enable`` (7-bit weights everywhere), ``first_layer_only``
      (NNCF's default) or ``disable``;
    - ``ranges``: activation range estimator, ``mean_minmax`` (NNCF's default: the mean
      over calibration batches of each batch's min and max) or ``minmax`` (the extremes);
    - ``keep_float``: MatMuls that stay float (NNCF ignored scope): a key of :data:`ROLES`
      (that role in every layer) or ``ROLE.LAYER`` (one layer's, such as
      ``ffn_output.3``; layers count from 0);
    - ``float_weights``: how those MatMuls' weights are stored: ``float`` (float32, as
      the IR holds them) or ``int8`` (NNCF INT8 asymmetric weight compression, as
      ``int8w``); both are computed in float. (The embedding tables are INT8 either way:
      NNCF's quantization compresses them.)
    - ``calibration``: verses; ``batch``: verses per calibration batch.
    """

    smooth_quant: float | None = 0.8
    overflow_fix: str = "enable"
    ranges: str = "mean_minmax"
    keep_float: tuple[str, ...] = ("ffn_input", "ffn_output", "attention_output")
    float_weights: str = "float"
    calibration: int = 300
    batch: int = 16

    def check(self) -> None:
        """Raise PxArgumentError for a value outside the choices above."""
        bad = [r for r in self.keep_float if r.split(".")[0] not in ROLES or
               r.count(".") > 1 or ("." in r and not r.split(".")[1].isdigit())] + \
            [w for w in (self.float_weights,) if w not in ("float", "int8")]
        if self.overflow_fix not in OVERFLOW_FIXES or self.ranges not in RANGES or bad or \
                self.calibration < 1 or self.batch < 1 or \
                not (self.smooth_quant is None or 0 <= self.smooth_quant <= 1):
            raise PxArgumentError(f"bad int8 recipe {self}", hint=(
                f"overflow_fix in {OVERFLOW_FIXES}, ranges in {RANGES}, keep_float from "
                f"{tuple(ROLES)}, each alone or as ROLE.LAYER, float_weights float or int8, "
                "smooth_quant in [0, 1] or None, calibration and batch ≥ 1"))


#: NNCF's defaults for a transformer: every MatMul in INT8, α 0.95, 8-bit weights after
#: the first layer.
NNCF_DEFAULTS = Recipe(smooth_quant=0.95, overflow_fix="first_layer_only", keep_float=())
#: The recipe ``pxos quantize --method int8`` uses (see docs/inference.md for the sweep).
DEFAULT = Recipe()
#: The fewest MatMuls float that ``benchmarks/int8_layers.py`` found with top-1 ≥ 0.95:
#: the default with the attention-output MatMuls of layers 1–4 in INT8 too (every
#: feed-forward MatMul, and layers 0 and 5's attention output, stay float).
PER_LAYER = Recipe(keep_float=("ffn_input", "ffn_output", "attention_output.0",
                               "attention_output.5"))


def scope_patterns(keep_float: tuple[str, ...]) -> list[str]:
    """Regular expressions of the MatMuls named by ``keep_float`` (see :class:`Recipe`)."""
    out = []
    for key in keep_float:
        role, _, layer = key.partition(".")
        out.append(ROLES[role].replace(r"\d+", layer) if layer else ROLES[role])
    return out


def calibration_positions(n: int, total: int) -> list[int]:
    """Indices into the ``total`` verses of ``verses()``: ``n`` of them, evenly spread over
    the verses 15 past every 31st, so none is among ``verses(1000, step=31)``."""
    pool = range(15, total, 31)
    n = min(n, len(pool))
    return [pool[i * len(pool) // n] for i in range(n)]


def calibration_texts(n: int) -> list[str]:
    """``n`` verses spread over the whole Bible (:func:`calibration_positions`)."""
    every = verses(None)
    return [every[i] for i in calibration_positions(n, len(every))]


def calibration_batches(folder, recipe: Recipe) -> list[dict]:
    """The recipe's calibration verses as padded int64 feeds, sorted by length, in
    batches of ``recipe.batch``."""
    ids = tokenize(str(folder), calibration_texts(recipe.calibration))
    ids.sort(key=len)
    return [pad(ids[i:i + recipe.batch]) for i in range(0, len(ids), recipe.batch)]


def quantize_int8(model, folder, recipe: Recipe = DEFAULT):
    """``model`` (an ``openvino.Model`` of the encoder in ``folder``) with INT8 weights and
    activations, per ``recipe``. Raises PxArgumentError (bad recipe, nncf missing)."""
    recipe.check()
    nncf = require("nncf")
    from nncf.quantization.advanced_parameters import (
        AdvancedQuantizationParameters, AdvancedSmoothQuantParameters, OverflowFix)
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet
    data = calibration_batches(folder, recipe)
    alpha = -1 if recipe.smooth_quant is None else recipe.smooth_quant
    advanced = AdvancedQuantizationParameters(
        overflow_fix=OverflowFix(recipe.overflow_fix),
        smooth_quant_alphas=AdvancedSmoothQuantParameters(matmul=alpha),
        activations_range_estimator_params=getattr(RangeEstimatorParametersSet,
                                                   recipe.ranges.upper()))
    ignored = nncf.IgnoredScope(patterns=scope_patterns(recipe.keep_float)) \
        if recipe.keep_float else None
    out = nncf.quantize(model, nncf.Dataset(data), model_type=nncf.ModelType.TRANSFORMER,
                        subset_size=len(data), ignored_scope=ignored,
                        advanced_parameters=advanced)
    if recipe.keep_float and recipe.float_weights == "int8":
        out = nncf.compress_weights(out, mode=nncf.CompressWeightsMode.INT8_ASYM)
    return out


__all__ = ["DEFAULT", "NNCF_DEFAULTS", "OVERFLOW_FIXES", "PER_LAYER", "RANGES", "ROLES", "Recipe",
           "calibration_batches", "calibration_positions", "calibration_texts", "quantize_int8",
           "scope_patterns"]
