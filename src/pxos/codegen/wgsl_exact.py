"""Correctly rounded ``f32`` division and square root for WGSL, in integer arithmetic.

WGSL only bounds the error of ``x / y`` (2.5 ULP) and ``sqrt`` (inherited from
``inverseSqrt``: WGSL §15.4.3, "Floating point accuracy"), and NVIDIA's Vulkan driver uses that
freedom: ``60.0 / 100.0`` there is one unit below the correctly rounded ``0.6`` that NumPy, C,
CUDA (``--prec-div=true``) and OpenCL give (``examples/heat.px``'s image was one grey level off
in one row). So the WGSL dialect spells ``f32`` ``/``, ``sqrt`` and ``rsqrt`` as the helpers
below, which compute the IEEE 754 round-to-nearest-even result from the operands' bits with
``u32`` operations only: no float operation, so no contraction, flush-to-zero or driver
accuracy can change them, and every driver gives the same bits.

The methods are the textbook digit recurrences (M. D. Ercegovac and T. Lang, *Digital
Arithmetic*, 2004: restoring division §5.2, and square root §6.2, one bit a step): 25 result
bits (24 of the significand and a round bit) from 25 fixed steps, then a sticky bit from the
remainder and round-to-nearest-even, subnormal results rounded once at their own precision
(no double rounding). Special operands follow IEEE 754 (NumPy): ``x / 0 = ±inf``,
``0 / 0 = inf / inf = nan``, ``x / inf = ±0``, ``sqrt(-0) = -0``, ``sqrt(x < 0) = nan``; a
NaN result is the quiet NaN ``0x7fc00000``. ``f64`` (where the device has ``shader-f64``)
keeps WGSL's own operators. Cost: about 150 integer operations a division or root, against
one float division; ``benchmarks/webgpu.py`` measures it.
"""

from __future__ import annotations

from pxos.ir.types import F32, Scalar

# (significand m in [2^23, 2^24), exponent e) of a finite nonzero magnitude's bits x:
# |value| = m * 2^(e - 150); a subnormal is normalised (e <= 0).
_UNPACK = """fn pxos_unpack_f32(x: u32) -> vec2<i32> {
    let e = i32(x >> 23u); let f = x & 0x7fffffu;
    if (e != 0) { return vec2<i32>(i32(f | 0x800000u), e); }
    let z = countLeadingZeros(f) - 8u;
    return vec2<i32>(i32(f << z), 1 - i32(z));
}"""
# the f32 of sign s (bit 31) and magnitude (q + f) * 2^(e - 151), q in [2^24, 2^25) holding
# the significand and a round bit, f in [0, 1) nonzero iff `sticky`; rounded to nearest even
# once, at the precision of the result (a normal, a subnormal, zero or inf)
_PACK = """fn pxos_pack_f32(s: u32, e: i32, q: u32, sticky: bool) -> f32 {
    if (e >= 255) { return bitcast<f32>(s | 0x7f800000u); }
    let sh = u32(clamp(2 - e, 1, 31)); let kept = q >> sh; let half = 1u << (sh - 1u);
    let rest = q & ((half << 1u) - 1u);
    let up = rest > half || (rest == half && (sticky || (kept & 1u) == 1u));
    return bitcast<f32>(s | ((u32(max(e - 1, 0)) << 23u) + kept + select(0u, 1u, up)));
}"""
_DIV = """fn pxos_fdiv_f32(a: f32, b: f32) -> f32 {
    let ua = bitcast<u32>(a); let ub = bitcast<u32>(b); let s = (ua ^ ub) & 0x80000000u;
    let xa = ua & 0x7fffffffu; let xb = ub & 0x7fffffffu;
    if (xa > 0x7f800000u || xb > 0x7f800000u || (xa == xb && (xa == 0u || xa == 0x7f800000u))) {
        return bitcast<f32>(0x7fc00000u); }
    if (xa == 0x7f800000u || xb == 0u) { return bitcast<f32>(s | 0x7f800000u); }
    if (xa == 0u || xb == 0x7f800000u) { return bitcast<f32>(s); }
    let na = pxos_unpack_f32(xa); let nb = pxos_unpack_f32(xb);
    var r = u32(na.x); let d = u32(nb.x); var e = na.y - nb.y + 127;
    if (r < d) { r = r << 1u; e = e - 1; }
    var q = 0u;
    for (var i = 0u; i < 25u; i++) {
        let ge = r >= d; q = (q << 1u) | select(0u, 1u, ge); r = (select(r, r - d, ge)) << 1u;
    }
    return pxos_pack_f32(s, e, q, r != 0u);
}"""
_SQRT = """fn pxos_fsqrt_f32(a: f32) -> f32 {
    let x = bitcast<u32>(a);
    if (x == 0u || x == 0x80000000u || x == 0x7f800000u) { return a; }
    if (x > 0x7f800000u) { return bitcast<f32>(0x7fc00000u); }
    let n = pxos_unpack_f32(x); var k = n.y - 150; var m = u32(n.x);
    if ((k & 1) != 0) { m = m << 1u; k = k - 1; } else { m = m << 2u; k = k - 2; }
    var rem = 0u; var root = 0u;
    for (var i = 0u; i < 25u; i++) {
        rem = (rem << 2u) | select(0u, (m >> (24u - 2u * min(i, 12u))) & 3u, i < 13u);
        let trial = (root << 2u) | 1u; let ge = rem >= trial;
        rem = select(rem, rem - trial, ge); root = (root << 1u) | select(0u, 1u, ge);
    }
    return pxos_pack_f32(0u, k / 2 + 139, root, rem != 0u);
}"""
# the sqrt digit loop: m (26 bits) followed by 24 zero bits is the radicand N in
# [2^48, 2^50); root = floor(sqrt(N)) in [2^24, 2^25); sqrt(|value|) = sqrt(N) * 2^((k-24)/2)
_RSQRT = "fn pxos_rsqrt_f32(a: f32) -> f32 { return pxos_fdiv_f32(1.0f, pxos_fsqrt_f32(a)); }"
_TEXT = {"fdiv": _DIV, "fsqrt": _SQRT, "rsqrt": _RSQRT}
_WIDE = {"fsqrt": "return sqrt(a);", "rsqrt": "return 1.0lf / sqrt(a);"}


def exact_helpers(kind: str, t: Scalar) -> dict[str, str] | None:
    """The WGSL functions that helper ``kind`` (``fdiv``, ``fsqrt`` or ``rsqrt``) of type
    ``t`` needs, by name (``pxos_<kind>_<type>`` among them); None where WGSL's operator
    serves (``f64`` division) and for kinds this module does not define."""
    if t != F32:
        body = _WIDE.get(kind)
        return None if body is None else {f"pxos_{kind}_f64":
                                          f"fn pxos_{kind}_f64(a: f64) -> f64 {{ {body} }}"}
    if kind not in _TEXT:
        return None
    out = {"pxos_unpack_f32": _UNPACK, "pxos_pack_f32": _PACK}
    for k in ("fdiv", "fsqrt", kind) if kind == "rsqrt" else (kind,):
        out[f"pxos_{k}_f32"] = _TEXT[k]
    return out
