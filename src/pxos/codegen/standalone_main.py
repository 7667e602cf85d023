"""The fixed C of an exported program's sections 6 and 7: verification, options, ``main``.

``VERIFY`` compares the GPU's results with the CPU reference; ``OPTIONS`` parses the command
line (it uses ``PXOS_ARRAYS``, ``pxos_array_names`` and the ``PXOS_`` macros of the
generated section 5); ``MAIN`` is a ``str.format`` template that ``standalone_host`` fills
with the kernel's two calls, its block and the default tolerances.
"""

VERIFY = r"""
/* ---- Comparing the GPU's result with the CPU reference */
static double pxos_get_float(const pxos_array *a, const void *data, int64_t i)
{
    if (a->itemsize == 8) return ((const double *)data)[i];
    if (a->itemsize == 4) return ((const float *)data)[i];
    return pxos_half_to_float(((const uint16_t *)data)[i]);
}

static uint64_t pxos_get_bits(const pxos_array *a, const void *data, int64_t i)
{
    uint64_t v = 0;
    memcpy(&v, (const unsigned char *)data + i * a->itemsize, (size_t)a->itemsize);
    return v;
}

static const pxos_array *pxos_sorting; /* the array qsort compares elements of */

static int pxos_order(const void *x, const void *y)
{
    const pxos_array *a = pxos_sorting;
    if (a->kind == 'f') {
        double u = pxos_get_float(a, x, 0), v = pxos_get_float(a, y, 0);
        return isnan(u) ? !isnan(v) : isnan(v) ? -1 : (u > v) - (u < v);
    }
    uint64_t u = pxos_get_bits(a, x, 0), v = pxos_get_bits(a, y, 0);
    if (a->kind == 'i') {  /* flip the sign bit: signed order as unsigned order */
        u ^= UINT64_C(1) << (8 * a->itemsize - 1), v ^= UINT64_C(1) << (8 * a->itemsize - 1);
    }
    return (u > v) - (u < v);
}

/* Print one element, for a mismatch report. */
static void pxos_print_value(const pxos_array *a, const void *data, int64_t i)
{
    uint64_t bits = pxos_get_bits(a, data, i);
    int shift = 64 - 8 * a->itemsize;
    if (a->kind == 'f') printf("%.9g", pxos_get_float(a, data, i));
    else if (a->kind == 'i') printf("%lld", (long long)((int64_t)(bits << shift) >> shift));
    else printf("%llu", (unsigned long long)bits);
}

/* Compare element by element: integers and bool exactly, floats within atol + rtol * |cpu|
 * (NaN matches NaN). `sorted`: compare as multisets (sorted copies), for kernels whose
 * results depend on the order of threads. Prints one line; returns the mismatches. */
static int64_t pxos_compare(pxos_array *a, void *gpu, void *cpu, double rtol, double atol,
                            int sorted)
{
    const int64_t n = pxos_count(a);
    int64_t bad = 0, first = -1;
    if (sorted) {
        pxos_sorting = a;
        qsort(gpu, (size_t)n, (size_t)a->itemsize, pxos_order);
        qsort(cpu, (size_t)n, (size_t)a->itemsize, pxos_order);
    }
    for (int64_t i = 0; i < n; ++i) {
        int same;
        if (a->kind == 'f') {
            double g = pxos_get_float(a, gpu, i), c = pxos_get_float(a, cpu, i);
            same = g == c || (isnan(g) && isnan(c)) || fabs(g - c) <= atol + rtol * fabs(c);
        } else {
            same = pxos_get_bits(a, gpu, i) == pxos_get_bits(a, cpu, i);
        }
        if (!same && !bad++) first = i;
    }
    printf("verify %s ", a->name);
    pxos_print_type(stdout, a);
    if (!bad) {
        printf(": %lld values match", (long long)n);
        if (a->kind == 'f') printf(" within rtol %g, atol %g", rtol, atol);
        else printf(" exactly");
        printf("%s\n", sorted ? " (as sorted multisets)" : "");
        return 0;
    }
    printf(": %lld of %lld values differ%s; first at %s[", (long long)bad, (long long)n,
           sorted ? " (as sorted multisets)" : "", a->name);
    for (int d = 0; d < a->ndim; ++d) {
        int64_t rest = 1;
        for (int e = d + 1; e < a->ndim; ++e) rest *= a->shape[e];
        printf("%s%lld", d ? ", " : "", (long long)(first / rest % a->shape[d]));
    }
    printf("]: gpu ");
    pxos_print_value(a, gpu, first);
    printf(", cpu ");
    pxos_print_value(a, cpu, first);
    printf("\n");
    return bad;
}
"""

OPTIONS = r"""
typedef struct {
    int64_t n;                       /* the size N; -1: the program's own sizes */
    int repeat;                      /* timed launches */
    double rtol, atol;               /* float tolerance; negative: the element type's own */
    int plan;                        /* --plan: print the problem, stop before the GPU */
    const char *input[PXOS_ARRAYS];  /* --input NAME=FILE.npy */
} pxos_options;

static void pxos_usage(const char *prog)
{
    printf("usage: %s [N] [--size N] [--input NAME=FILE.npy]... [--repeat R] [--rtol X]\n"
           "       [--atol X] [--plan] [--help]\n%s", prog, PXOS_USAGE);
}

static double pxos_number(const char *text, const char *what)
{
    char *end;
    double v = strtod(text, &end);
    if (!*text || *end || !(v >= 0)) pxos_fail("%s must be a number >= 0, got '%s'", what, text);
    return v;
}

static int64_t pxos_whole(const char *text, const char *what)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || v < 0) pxos_fail("%s must be a whole number >= 0, got '%s'", what, text);
    return (int64_t)v;
}

/* The value of option `name` at argv[*i] (`--name V` or `--name=V`), or NULL. */
static const char *pxos_value(int argc, char **argv, int *i, const char *name)
{
    size_t len = strlen(name);
    if (strncmp(argv[*i], name, len) != 0) return NULL;
    if (argv[*i][len] == '=') return argv[*i] + len + 1;
    if (argv[*i][len] != '\0') return NULL;
    if (*i + 1 >= argc) pxos_fail("%s needs a value", name);
    return argv[++*i];
}

static pxos_options pxos_parse_options(int argc, char **argv)
{
    pxos_options o;
    const char *v;
    memset(&o, 0, sizeof o);
    o.n = -1;
    o.repeat = 10;
    o.rtol = o.atol = -1;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            pxos_usage(argv[0]);
            exit(0);
        } else if (!strcmp(argv[i], "--plan")) o.plan = 1;
        else if ((v = pxos_value(argc, argv, &i, "--repeat")) != NULL)
            o.repeat = (int)pxos_whole(v, "--repeat");
        else if ((v = pxos_value(argc, argv, &i, "--rtol")) != NULL)
            o.rtol = pxos_number(v, "--rtol");
        else if ((v = pxos_value(argc, argv, &i, "--atol")) != NULL)
            o.atol = pxos_number(v, "--atol");
        else if ((v = pxos_value(argc, argv, &i, "--input")) != NULL) {
            const char *eq = strchr(v, '=');
            int k = PXOS_ARRAYS;
            if (eq)
                for (k = 0; k < PXOS_ARRAYS; ++k)
                    if (strlen(pxos_array_names[k]) == (size_t)(eq - v) &&
                        !strncmp(pxos_array_names[k], v, (size_t)(eq - v))) break;
            if (k == PXOS_ARRAYS)
                pxos_fail("--input wants NAME=FILE.npy, NAME one of the kernel's arrays (%s); "
                          "got '%s'", PXOS_ARRAY_LIST, v);
            o.input[k] = eq + 1;
        } else {
            if (!(v = pxos_value(argc, argv, &i, "--size"))) v = argv[i];
            if (*v == '-') pxos_fail("unknown option %s (see --help)", v);
            o.n = pxos_whole(v, "the size N");
        }
    }
    if (o.repeat < 1) pxos_fail("--repeat must be at least 1");
    return o;
}

/* The folder of the program (where pxos export's .npy files are looked for second). */
static const char *pxos_program_dir(const char *argv0)
{
    static char dir[4096];
    const char *slash = strrchr(argv0, '/');
    if (!slash) return ".";
    if (snprintf(dir, sizeof dir, "%.*s", (int)(slash - argv0), argv0) >= (int)sizeof dir)
        pxos_fail("the program's path is too long");
    return dir;
}
"""


MAIN = r"""
/* The GPU kernel on the device arrays d[] (one GPU thread per pxos thread). */
static void pxos_launch(const pxos_problem *p, void *const *d, dim3 grid, dim3 block)
{{
{launch}
}}

/* The CPU reference on the host arrays h[]. */
static void pxos_reference(const pxos_problem *p, void *const *h)
{{
{reference}
}}

static double pxos_seconds(void)
{{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}}

int main(int argc, char **argv)
{{
    const pxos_options opt = pxos_parse_options(argc, argv);
    const double rtol[3] = {rtol}, atol[3] = {atol};  /* f16, f32, f64 */
    void *d[PXOS_ARRAYS], *d0[PXOS_ARRAYS], *h[PXOS_ARRAYS], *g[PXOS_ARRAYS];
    double moved = 0, best = 0, total = 0;
    int64_t bad = 0;
    pxos_problem p;

    /* ---- the problem: sizes, scalar arguments, initial contents */
    if (opt.n >= 0 && PXOS_SIZE_DEFAULT < 0)
        fprintf(stderr, "warning: size N = %lld refused, the program's own sizes are used: "
                "%s\n", (long long)opt.n, PXOS_SIZE_FIXED);
    pxos_problem_init(&p, opt.n >= 0 && PXOS_SIZE_DEFAULT >= 0 ? opt.n : PXOS_SIZE_DEFAULT);
    pxos_problem_inputs(&p, opt.input, pxos_program_dir(argv[0]));
    pxos_print_problem(&p);
    if (opt.plan) return 0;

    /* ---- the device */
    int device;
    cudaDeviceProp prop;
    CHECK(cudaGetDevice(&device));
    CHECK(cudaGetDeviceProperties(&prop, device));
    printf("device %d: %s (compute capability %d.%d)\n", device, prop.name, prop.major,
           prop.minor);

    /* ---- allocation and transfers: d[] the kernel's arrays; d0[] a copy of the initial
     * contents of those it writes, so that every launch starts from the same data */
    for (int i = 0; i < PXOS_ARRAYS; ++i) {{
        const size_t bytes = pxos_bytes(&p.arr[i]);
        d0[i] = NULL;
        CHECK(cudaMalloc(&d[i], bytes ? bytes : 1));
        CHECK(cudaMemcpy(d[i], p.arr[i].data, bytes, cudaMemcpyHostToDevice));
        if (strchr(p.arr[i].access, 'w')) {{
            CHECK(cudaMalloc(&d0[i], bytes ? bytes : 1));
            CHECK(cudaMemcpy(d0[i], d[i], bytes, cudaMemcpyDeviceToDevice));
        }}
        moved += (double)bytes * (double)strlen(p.arr[i].access);  /* read and/or written */
    }}

    /* ---- the launch: GPU_BLOCK {bx} x {by} x {bz}, enough blocks to cover the threads */
    const int64_t gx = (p.nx + {bx} - 1) / {bx}, gy = (p.ny + {by} - 1) / {by},
                  gz = (p.nz + {bz} - 1) / {bz};
    if (gx > INT64_C(2147483647) || gy > 65535 || gz > 65535)
        pxos_fail("%lld x %lld x %lld blocks exceed CUDA's grid", (long long)gx, (long long)gy,
                  (long long)gz);
    const dim3 grid((unsigned)gx, (unsigned)gy, (unsigned)gz), block({bx}, {by}, {bz});

    /* ---- timing: one warm-up launch, then opt.repeat timed ones (cudaEvent), each from
     * the initial contents; the last one's results are verified */
    cudaEvent_t start, stop;
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));
    for (int r = -1; r < opt.repeat; ++r) {{
        float ms = 0;
        for (int i = 0; i < PXOS_ARRAYS; ++i)
            if (d0[i])
                CHECK(cudaMemcpy(d[i], d0[i], pxos_bytes(&p.arr[i]), cudaMemcpyDeviceToDevice));
        CHECK(cudaEventRecord(start));
        if (gx > 0 && gy > 0 && gz > 0) pxos_launch(&p, d, grid, block);
        CHECK(cudaGetLastError());
        CHECK(cudaEventRecord(stop));
        CHECK(cudaEventSynchronize(stop));
        CHECK(cudaEventElapsedTime(&ms, start, stop));
        if (r < 0) continue;
        total += ms;
        best = r == 0 || ms < best ? ms : best;
    }}
    printf("kernel: %.4f ms (best of %d; mean %.4f ms); effective bandwidth %.1f GB/s "
           "(%.5g MB read and written)\n", best, opt.repeat, total / opt.repeat,
           best > 0 ? moved / (best * 1e-3) / 1e9 : 0.0, moved / 1e6);

    /* ---- results back (g[]), and the CPU reference on copies of the same inputs (h[]) */
    for (int i = 0; i < PXOS_ARRAYS; ++i) {{
        const size_t bytes = pxos_bytes(&p.arr[i]);
        h[i] = p.arr[i].data;
        g[i] = NULL;
        if (!d0[i]) continue;
        g[i] = pxos_malloc(bytes);
        CHECK(cudaMemcpy(g[i], d[i], bytes, cudaMemcpyDeviceToHost));
        h[i] = memcpy(pxos_malloc(bytes), p.arr[i].data, bytes);
    }}
    const double t0 = pxos_seconds();
    pxos_reference(&p, h);
    printf("cpu reference: %.3f ms\n", (pxos_seconds() - t0) * 1e3);

    /* ---- verification: every array the kernel writes, GPU against CPU */
    for (int i = 0; i < PXOS_ARRAYS; ++i) {{
        const int w = p.arr[i].itemsize == 2 ? 0 : p.arr[i].itemsize == 4 ? 1 : 2;
        if (!g[i]) continue;
        bad += pxos_compare(&p.arr[i], g[i], h[i], opt.rtol >= 0 ? opt.rtol : rtol[w],
                            opt.atol >= 0 ? opt.atol : atol[w], PXOS_ORDER_DEPENDENT);
        free(g[i]);
        free(h[i]);
    }}
    for (int i = 0; i < PXOS_ARRAYS; ++i) {{
        CHECK(cudaFree(d[i]));
        if (d0[i]) CHECK(cudaFree(d0[i]));
        free(p.arr[i].data);
    }}
    CHECK(cudaEventDestroy(start));
    CHECK(cudaEventDestroy(stop));
    puts(bad ? "FAIL" : "PASS");
    return bad ? 1 : 0;
}}"""
