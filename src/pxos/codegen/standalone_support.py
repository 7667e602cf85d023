"""The fixed C of an exported program's section 4: arrays and their initial contents.

``SUPPORT`` is plain C: the array record, f16 conversions, the ``RANDOM`` generator (a port
of ``host/rng.py``), ``FILL``, and a ``.npy`` reader. With the generated section 5 it also
compiles alone with a C compiler, which is how the tests check the port against pxos on
machines without CUDA. Blocks are separated by blank lines: ``standalone_host`` keeps a
function's block only when something kept calls it (an unused ``static`` function draws a
warning from ``nvcc``).
"""

SUPPORT = r"""
typedef struct {
    const char *name;    /* the array's name in the .px program */
    char kind;           /* NumPy's kind: 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
    int itemsize;        /* bytes per element */
    int ndim;            /* 1 to 3 */
    int64_t shape[3];    /* extents, row-major: shape[0] is ROWS of a 2-D or 3-D array */
    const char *access;  /* what the kernel does with it: "r", "w" or "rw" */
    const char *origin;  /* where its initial contents come from */
    void *data;          /* the initial contents, in host memory */
} pxos_array;

#define PXOS_MAX_ELEMENTS INT64_C(2147483647) /* LEN and indices are i32 (docs/language.md) */

/* Print "error: ..." and exit with status 2 (bad arguments, unreadable input). */
static void pxos_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static int64_t pxos_count(const pxos_array *a)
{
    int64_t n = 1;
    for (int d = 0; d < a->ndim; ++d) n *= a->shape[d];
    return n;
}

static size_t pxos_bytes(const pxos_array *a)
{
    return (size_t)pxos_count(a) * (size_t)a->itemsize;
}

static void *pxos_malloc(size_t bytes)
{
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p) pxos_fail("out of host memory (%zu bytes)", bytes);
    return p;
}

/* NumPy's name of an array's element type. */
static const char *pxos_dtype(const pxos_array *a)
{
    static const char *const names[3][4] = {
        {"float16", "float32", "float64", "?"},
        {"int8", "int16", "int32", "int64"},
        {"uint8", "uint16", "uint32", "uint64"}};
    int width = a->itemsize == 1 ? 0 : a->itemsize == 2 ? 1 : a->itemsize == 4 ? 2 : 3;
    if (a->kind == 'b') return "bool";
    if (a->kind == 'f') return names[0][width - 1];
    return names[a->kind == 'i' ? 1 : 2][width];
}

/* "float32[512, 768]" */
static void pxos_print_type(FILE *f, const pxos_array *a)
{
    fprintf(f, "%s[", pxos_dtype(a));
    for (int d = 0; d < a->ndim; ++d) fprintf(f, "%s%lld", d ? ", " : "", (long long)a->shape[d]);
    fputc(']', f);
}

/* One line of the problem's report: name, type, access, origin. */
static void pxos_print_array(const pxos_array *a, int width)
{
    printf("  %-*s  %-2s  ", width, a->name, a->access);
    pxos_print_type(stdout, a);
    printf("  %s\n", a->origin);
}

/* Set an array's type and extents; refuse what pxos refuses. */
static void pxos_array_init(pxos_array *a, const char *name, char kind, int itemsize,
                            const char *access, int ndim, int64_t d0, int64_t d1, int64_t d2)
{
    const int64_t shape[3] = {d0, d1, d2};
    int64_t n = 1;
    memset(a, 0, sizeof *a);
    a->name = name;
    a->kind = kind;
    a->itemsize = itemsize;
    a->access = access;
    a->ndim = ndim;
    a->origin = "";
    for (int d = 0; d < ndim; ++d) {
        a->shape[d] = shape[d];
        if (shape[d] < 0) pxos_fail("array '%s' would have extent %lld", name, (long long)shape[d]);
        if (shape[d] && n > PXOS_MAX_ELEMENTS / shape[d])
            pxos_fail("array '%s' would hold more than %lld elements", name,
                      (long long)PXOS_MAX_ELEMENTS);
        n *= shape[d];
    }
}

/* Integer arithmetic of the size expressions: `.px` rules (x / 0 == 0, truncation). */
static int64_t pxos_idiv(int64_t a, int64_t b) { return b == 0 ? 0 : (b == -1 ? -a : a / b); }

static int64_t pxos_imod(int64_t a, int64_t b) { return (b == 0 || b == -1) ? 0 : a % b; }

static int64_t pxos_imin(int64_t a, int64_t b) { return a < b ? a : b; }

static int64_t pxos_imax(int64_t a, int64_t b) { return a < b ? b : a; }

/* A value computed from the size must fit its parameter's type. */
static int64_t pxos_fit(int64_t v, int64_t lo, int64_t hi, const char *what)
{
    if (v < lo || v > hi) pxos_fail("%s would be %lld, outside its type", what, (long long)v);
    return v;
}

/* ---- f16 as raw bits (IEEE binary16), round to nearest even like NumPy */
static float pxos_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    float f;
    if (exp == 0x1f) bits = sign | 0x7f800000u | (man << 13);        /* inf, NaN */
    else if (exp) bits = sign | ((exp + 112) << 23) | (man << 13);   /* normal */
    else if (!man) bits = sign;                                       /* zero */
    else {                                                            /* subnormal */
        exp = 113;
        while (!(man & 0x400u)) {
            man <<= 1;
            --exp;
        }
        bits = sign | (exp << 23) | ((man & 0x3ffu) << 13);
    }
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint16_t pxos_float_to_half(float f)
{
    uint32_t x, ax, sign, h, rem, half_way, shift, man;
    memcpy(&x, &f, sizeof x);
    sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) {                                       /* NaN, as NumPy */
        h = 0x7c00u + ((ax & 0x7fffffu) >> 13);
        return (uint16_t)(sign | (h == 0x7c00u ? h + 1 : h));
    }
    if (ax >= 0x47800000u) return (uint16_t)(sign | 0x7c00u);     /* inf, or >= 65536 */
    if (ax >= 0x38800000u) {                                      /* a normal half */
        h = (ax - 0x38000000u) >> 13, rem = ax & 0x1fffu;
        h += rem > 0x1000u || (rem == 0x1000u && (h & 1u));      /* may carry up to inf */
        return (uint16_t)(sign | h);
    }
    if (ax <= 0x33000000u) return (uint16_t)sign;                 /* <= 2^-25: zero */
    shift = 126 - (ax >> 23);                                     /* 14 .. 24 */
    man = (ax & 0x7fffffu) | 0x800000u;
    h = man >> shift, rem = man & ((1u << shift) - 1), half_way = 1u << (shift - 1);
    h += rem > half_way || (rem == half_way && (h & 1u));
    return (uint16_t)(sign | h);
}

/* ---- RANDOM: a port of pxos/host/rng.py. Element i of an array filled with seed s is
 * SplitMix64 (Steele, Lea and Flood, OOPSLA 2014) of s * 0x9E3779B97F4A7C15 + i. */
static uint64_t pxos_splitmix64(uint64_t seed, uint64_t i)
{
    uint64_t z = seed * UINT64_C(0x9E3779B97F4A7C15) + i;
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Floats uniform in [lo, hi), computed in the element type: lo + u * (hi - lo). */
static void pxos_random_float(pxos_array *a, uint64_t seed, double lo, double hi)
{
    const int64_t n = pxos_count(a);
    for (int64_t i = 0; i < n; ++i) {
        const uint64_t z = pxos_splitmix64(seed, (uint64_t)i);
        if (a->itemsize == 8) {
            const double u = (double)(z >> 11) * (1.0 / 9007199254740992.0); /* 2^-53 */
            ((double *)a->data)[i] = lo + u * (hi - lo);
        } else if (a->itemsize == 4) {
            const float u = (float)(z >> 40) * (1.0f / 16777216.0f);        /* 2^-24 */
            ((float *)a->data)[i] = (float)lo + u * ((float)hi - (float)lo);
        } else { /* f16: NumPy computes each operation in f32, rounded to f16 */
            const float u = pxos_half_to_float(pxos_float_to_half(
                (float)(z >> 40) * (1.0f / 16777216.0f)));
            const float d = pxos_half_to_float(pxos_float_to_half((float)hi - (float)lo));
            const float t = pxos_half_to_float(pxos_float_to_half(u * d));
            ((uint16_t *)a->data)[i] = pxos_float_to_half((float)lo + t);
        }
    }
}

/* Integers uniform in [lo, lo + width): Lemire's multiply-shift for widths up to 2^32,
 * else z mod width; bool: the top bit. The low bytes of the 64-bit sum are the value. */
static void pxos_random_int(pxos_array *a, uint64_t seed, uint64_t lo, uint64_t width)
{
    const int64_t n = pxos_count(a);
    unsigned char *out = (unsigned char *)a->data;
    for (int64_t i = 0; i < n; ++i) {
        const uint64_t z = pxos_splitmix64(seed, (uint64_t)i);
        uint64_t v = a->kind == 'b' ? z >> 63
                   : lo + (width <= UINT64_C(4294967296) ? ((z >> 32) * width) >> 32 : z % width);
        for (int b = 0; b < a->itemsize; ++b, v >>= 8) out[i * a->itemsize + b] = (unsigned char)v;
    }
}

/* FILL: every element gets the same bit pattern (little-endian). */
static void pxos_fill(pxos_array *a, uint64_t bits)
{
    const int64_t n = pxos_count(a);
    unsigned char *out = (unsigned char *)a->data;
    for (int64_t i = 0; i < n; ++i)
        for (int b = 0; b < a->itemsize; ++b)
            out[i * a->itemsize + b] = (unsigned char)(bits >> (8 * b));
}

/* ---- A .npy reader (format versions 1 to 3, little-endian, C order): the file's type and
 * shape must be the array's. */
static const char *pxos_npy_field(const char *header, const char *key, const char *path)
{
    const char *p = strstr(header, key);
    if (!p || !(p = strchr(p + strlen(key), ':'))) pxos_fail("%s: no %s in its header", path, key);
    for (++p; *p == ' '; ++p) {}
    return p;
}

static void pxos_read_npy(pxos_array *a, const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char head[12];
    char descr[8], want[8], *header;
    const char *p;
    uint32_t len;
    int ndim = 0;
    int64_t shape[4];
    if (!f) pxos_fail("cannot open %s (input '%s'): %s", path, a->name, strerror(errno));
    if (fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY", 6) != 0)
        pxos_fail("%s is not a .npy file", path);
    if (head[6] == 1) len = head[8] | (uint32_t)head[9] << 8;
    else if ((head[6] == 2 || head[6] == 3) && fread(head + 10, 1, 2, f) == 2)
        len = head[8] | (uint32_t)head[9] << 8 | (uint32_t)head[10] << 16 |
              (uint32_t)head[11] << 24;
    else pxos_fail("%s: unknown .npy format version %d", path, head[6]);
    if (len > (1u << 24)) pxos_fail("%s: bad .npy header", path);
    header = (char *)pxos_malloc((size_t)len + 1);
    if (fread(header, 1, len, f) != len) pxos_fail("%s: bad .npy header", path);
    p = pxos_npy_field(header, "'descr'", path);
    if (sscanf(p, "'%7[^']'", descr) != 1) pxos_fail("%s: bad descr in its header", path);
    snprintf(want, sizeof want, "%c%c%d", a->itemsize == 1 ? '|' : '<', a->kind, a->itemsize);
    if (strcmp(descr + 1, want + 1) != 0 || (descr[0] != want[0] && descr[0] != '='))
        pxos_fail("%s holds %s data; input '%s' is %s (NumPy '%s')", path, descr, a->name,
                  pxos_dtype(a), want);
    if (strncmp(pxos_npy_field(header, "'fortran_order'", path), "False", 5) != 0)
        pxos_fail("%s is in Fortran order; save it in C order", path);
    p = pxos_npy_field(header, "'shape'", path);
    for (++p; ndim < 4; ++ndim) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p) break;
        shape[ndim] = v;
        for (p = end; *p == ',' || *p == ' '; ++p) {}
    }
    if (ndim != a->ndim || memcmp(shape, a->shape, sizeof(int64_t) * (size_t)ndim) != 0) {
        fprintf(stderr, "error: %s has %d axes (", path, ndim);
        for (int d = 0; d < ndim; ++d)
            fprintf(stderr, "%s%lld", d ? ", " : "", (long long)shape[d]);
        fprintf(stderr, "); input '%s' must be ", a->name);
        pxos_print_type(stderr, a);
        fputc('\n', stderr);
        exit(2);
    }
    a->data = pxos_malloc(pxos_bytes(a));
    if (fread(a->data, 1, pxos_bytes(a), f) != pxos_bytes(a)) pxos_fail("%s is truncated", path);
    free(header);
    fclose(f);
}

static int pxos_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* Give an array its initial contents from a file if one applies: the --input file, else the
 * file pxos export saved (looked for in the working directory, then in `dir`). Returns 0
 * when none applies (the caller makes the contents as `origin` says; they are zeros now). */
static int pxos_input_file(pxos_array *a, const char *input, const char *saved,
                           const char *origin, const char *dir)
{
    char path[4096];
    a->origin = input ? input : origin;
    if (input) {
        pxos_read_npy(a, input);
        return 1;
    }
    if (!saved) {
        a->data = pxos_malloc(pxos_bytes(a));
        return 0;
    }
    if (snprintf(path, sizeof path, "%s/%s", dir, saved) >= (int)sizeof path)
        pxos_fail("the path of %s is too long", saved);
    if (!pxos_exists(saved) && !pxos_exists(path))
        pxos_fail("input '%s' is read from %s, which pxos export wrote beside the .cu file; it "
                  "is neither in the working directory nor in %s (pass --input %s=FILE.npy)",
                  a->name, saved, dir, a->name);
    pxos_read_npy(a, pxos_exists(saved) ? saved : path);
    return 1;
}
"""
