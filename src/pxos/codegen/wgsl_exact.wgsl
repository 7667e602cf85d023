// The WGSL prelude of pxos (codegen/wgsl.py reads it): the helper functions that the WGSL
// dialect's generated code calls by name, where WGSL's own operators are not exact enough
// or not defined as pxos defines them (docs/backends.md, "WGSL and the webgpu backend").
// A kernel's module holds only the functions it calls, and the prelude functions those call.
// Format: each function starts with `fn ` at the start of a line and ends at the next line
// that is `}` alone; comments stand between functions, never inside them.
//
// Correctly rounded f32 division and square root. WGSL only bounds the error of `x / y`
// (2.5 ULP) and `sqrt` (inherited from `1.0 / inverseSqrt`: the WGSL specification's
// "Floating Point Accuracy" table), and NVIDIA's Vulkan driver uses that freedom: its
// `60.0 / 100.0` is one unit below the correctly rounded 0.6 that NumPy, C, CUDA
// (--prec-div=true) and OpenCL give (examples/heat.px's image was one grey level off in one
// row). So f32 `/`, `sqrt` and `rsqrt` are spelled as pxos_fdiv_f32, pxos_fsqrt_f32 and
// pxos_rsqrt_f32, which give the IEEE 754 round-to-nearest-even result.
//
// Method: the operands' significands m (integers in [2^23, 2^24), subnormals normalised) and
// exponents come from their bits. The driver's own f32 quotient or root of the significands
// only estimates the 25-bit integer result Q (24 significand bits and a round bit); its
// remainder (r * 2^24 - Q * d, or N - Q * Q) is then computed exactly in wrapping u32
// arithmetic (exact since the true remainder is below 2^31), Q corrected by the remainder's
// quotient and one step either way, and rounded to nearest even once, with the remainder's
// sticky bit, at the result's own precision (a normal, subnormal, zero or inf: no double
// rounding). This is the residual check of a quotient or root estimate (J.-M. Muller et al.,
// Handbook of Floating-Point Arithmetic, 2nd ed., 2018, chapters on division and square
// root) done in integers, so no contraction or flush-to-zero can change it. It holds while
// the driver's estimate is within 64 ULP for `/` and 16 ULP for `sqrt` (WGSL allows 2.5 and
// about 4.5); tests/backends/test_float_rounding.py checks it against NumPy, also with a
// driver made to err by 5 ULP. Special operands follow IEEE 754 (NumPy): x / 0 = ±inf,
// 0 / 0 = inf / inf = nan, x / inf = ±0, sqrt(-0) = -0, sqrt(x < 0) = nan; a NaN result is
// the quiet NaN 0x7fc00000. Cost: about 60 integer operations and a second float division or
// root; benchmarks/webgpu.py measures it.

// (significand m in [2^23, 2^24), exponent e) of a finite nonzero magnitude's bits x:
// |value| = m * 2^(e - 150); a subnormal is normalised (e <= 0).
fn pxos_unpack_f32(x: u32) -> vec2<i32> {
    let e = i32(x >> 23u); let f = x & 0x7fffffu;
    if (e != 0) { return vec2<i32>(i32(f | 0x800000u), e); }
    let z = countLeadingZeros(f) - 8u;
    return vec2<i32>(i32(f << z), 1 - i32(z));
}

// the f32 of sign s (bit 31) and magnitude (q + f) * 2^(e - 151), q in [2^24, 2^25) holding
// the significand and a round bit, f in [0, 1) nonzero iff `sticky`; rounded to nearest even
// once, at the precision of the result (a normal, a subnormal, zero or inf)
fn pxos_pack_f32(s: u32, e: i32, q: u32, sticky: bool) -> f32 {
    if (e >= 255) { return bitcast<f32>(s | 0x7f800000u); }
    let sh = u32(clamp(2 - e, 1, 31)); let kept = q >> sh; let half = 1u << (sh - 1u);
    let rest = q & ((half << 1u) - 1u);
    let up = rest > half || (rest == half && (sticky || (kept & 1u) == 1u));
    return bitcast<f32>(s | ((u32(max(e - 1, 0)) << 23u) + kept + select(0u, 1u, up)));
}

// q = floor(r * 2^24 / d) in [2^24, 2^25) for significands r / d in [1, 2); a / b is
// (q + sticky) * 2^(e - 151)
fn pxos_fdiv_f32(a: f32, b: f32) -> f32 {
    let ua = bitcast<u32>(a); let ub = bitcast<u32>(b); let s = (ua ^ ub) & 0x80000000u;
    let xa = ua & 0x7fffffffu; let xb = ub & 0x7fffffffu;
    if (xa > 0x7f800000u || xb > 0x7f800000u || (xa == xb && (xa == 0u || xa == 0x7f800000u))) {
        return bitcast<f32>(0x7fc00000u); }
    if (xa == 0x7f800000u || xb == 0u) { return bitcast<f32>(s | 0x7f800000u); }
    if (xa == 0u || xb == 0x7f800000u) { return bitcast<f32>(s); }
    let na = pxos_unpack_f32(xa); let nb = pxos_unpack_f32(xb);
    var r = u32(na.x); let d = u32(nb.x); var e = na.y - nb.y + 127;
    if (r < d) { r = r << 1u; e = e - 1; }
    var q = u32(f32(r) / f32(d) * 16777216.0);
    var rem = bitcast<i32>((r << 24u) - q * d);
    let k = i32(floor(f32(rem) / f32(d))); q = u32(i32(q) + k); rem = rem - k * i32(d);
    if (rem < 0) { q = q - 1u; rem = rem + i32(d); }
    if (rem >= i32(d)) { q = q + 1u; rem = rem - i32(d); }
    return pxos_pack_f32(s, e, q, rem != 0);
}

// root = floor(sqrt(N)) in [2^24, 2^25) for the radicand N = m * 2^24 in [2^48, 2^50), the
// exponent k made even; sqrt(a) = sqrt(N) * 2^((k - 24) / 2)
fn pxos_fsqrt_f32(a: f32) -> f32 {
    let x = bitcast<u32>(a);
    if (x == 0u || x == 0x80000000u || x == 0x7f800000u) { return a; }
    if (x > 0x7f800000u) { return bitcast<f32>(0x7fc00000u); }
    let n = pxos_unpack_f32(x); var k = n.y - 150; var m = u32(n.x);
    if ((k & 1) != 0) { m = m << 1u; k = k - 1; } else { m = m << 2u; k = k - 2; }
    var root = u32(sqrt(f32(m)) * 4096.0);
    var rem = bitcast<i32>((m << 24u) - root * root);
    root = u32(i32(root) + i32(floor(f32(rem) / f32(2u * root))));
    rem = bitcast<i32>((m << 24u) - root * root);
    if (rem < 0) { root = root - 1u; rem = rem + i32(2u * root + 1u); }
    if (rem > i32(2u * root)) { rem = rem - i32(2u * root + 1u); root = root + 1u; }
    return pxos_pack_f32(0u, k / 2 + 139, root, rem != 0);
}

fn pxos_rsqrt_f32(a: f32) -> f32 {
    return pxos_fdiv_f32(1.0f, pxos_fsqrt_f32(a));
}

// f64 (with shader-f64): WGSL's own operators; the quotient's bits XORed with the uniform
// zero pxos_nc, as the dialect does for f32 + - * (no fusing, no reassociation)
fn pxos_fdiv_f64(a: f64, b: f64) -> f64 {
    return bitcast<f64>(bitcast<u64>(a / b) ^ u64(pxos_p.pxos_nc));
}

fn pxos_fsqrt_f64(a: f64) -> f64 {
    return sqrt(a);
}

fn pxos_rsqrt_f64(a: f64) -> f64 {
    return 1.0lf / sqrt(a);
}

// C's fmod of f32: exact (Sterbenz); inf/NaN told by bits (WGSL lets a compiler assume finite
// floats, and NVIDIA's driver hung on an infinity); the loop bounded by the exponents
fn pxos_fmod_f32(a: f32, b: f32) -> f32 {
    let y = abs(b); var r = abs(a); let ur = bitcast<u32>(r); let uy = bitcast<u32>(y);
    if (uy == u32(0) || ur >= 0x7f800000u || uy > 0x7f800000u) {
        return bitcast<f32>(0x7fc00000u); }
    if (uy == 0x7f800000u) { return a; }
    for (var k = 0; k < 280; k++) {
        if (r < y) { break; }
        let e = i32(frexp(r).exp - frexp(y).exp);
        var d = ldexp(y, e); if (d > r) { d = ldexp(y, e - 1); } r = r - d;
    }
    return select(r, -r, (bitcast<u32>(a) >> 31u) != u32(0));
}

// C's fmod of f64 in u64 arithmetic only (musl libc's fmod.c: shift-and-subtract of the
// significands, one step per unit of exponent difference); on NVIDIA's Vulkan driver the f64
// frexp/ldexp form of the f32 helper is the suspected cause of a lost device
fn pxos_fmod_f64(a: f64, b: f64) -> f64 {
    let ux = bitcast<u64>(a); let uy = bitcast<u64>(b); let sx = ux & 0x8000000000000000lu;
    var ex = i32((ux >> 52u) & 0x7fflu); var ey = i32((uy >> 52u) & 0x7fflu);
    if ((uy << 1u) == 0lu || (uy << 1u) > 0xffe0000000000000lu || ex == 0x7ff) {
        return bitcast<f64>(0x7ff8000000000000lu); }
    if ((ux << 1u) <= (uy << 1u)) { return select(a, bitcast<f64>(sx), (ux << 1u) == (uy << 1u)); }
    let one = 0x10000000000000lu; var mx = ux & (one - 1lu); var my = uy & (one - 1lu);
    if (ex == 0) { ex = 1; for (var k = 0; k < 53 && mx < one; k++) { mx = mx << 1u; ex -= 1; } }
    else { mx = mx | one; }
    if (ey == 0) { ey = 1; for (var k = 0; k < 53 && my < one; k++) { my = my << 1u; ey -= 1; } }
    else { my = my | one; }
    for (var k = 0; k < 2200 && ex > ey; k++) {
        if (mx >= my) { if (mx == my) { return bitcast<f64>(sx); } mx = mx - my; }
        mx = mx << 1u; ex -= 1;
    }
    if (mx >= my) { if (mx == my) { return bitcast<f64>(sx); } mx = mx - my; }
    for (var k = 0; k < 53 && mx < one; k++) { mx = mx << 1u; ex -= 1; }
    if (ex > 0) { return bitcast<f64>(sx | (mx - one) | (u64(u32(ex)) << 52u)); }
    return bitcast<f64>(sx | (mx >> u32(1 - ex)));
}

// checked mode: the index i if 0 <= i < n, else 0 after recording the first violation
// (atomicMax claims word 0; then line, column, array, axis, index and extent) in pxos_err
fn pxos_bound_i64(i: i32, n: i32, line: i32, col: i32, array: i32, axis: i32) -> i32 {
    if (i >= 0 && i < n) { return i; }
    if (atomicMax(&pxos_err[0], 1) == 0) { atomicStore(&pxos_err[1], line);
        atomicStore(&pxos_err[2], col); atomicStore(&pxos_err[3], array);
        atomicStore(&pxos_err[4], axis); atomicStore(&pxos_err[5], i);
        atomicStore(&pxos_err[6], n); }
    return 0;
}
