#include <stdint.h>
#include <stdbool.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#define PXOS_TEAM(blocks) ((blocks) < omp_get_max_threads() ? (int)(blocks) \
                                                            : omp_get_max_threads())
#else
#define PXOS_TEAM(blocks) 1
#endif

#include <string.h>
static inline float pxos_word_f32(const int64_t *w) { float f; memcpy(&f, w, 4); return f; }
static inline double pxos_word_f64(const int64_t *w) { double f; memcpy(&f, w, 8); return f; }

static inline uint32_t pxos_atomic_add_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static inline uint32_t pxos_own_add_u32(uint32_t *p, uint32_t v) { uint32_t o = __atomic_load_n(p, __ATOMIC_RELAXED); __atomic_store_n(p, (uint32_t)((uint32_t)o + (uint32_t)v), __ATOMIC_RELAXED); return o; }

#include <setjmp.h>
extern void pxos_guard_arm(sigjmp_buf *jb);
extern void pxos_guard_disarm(void);
extern int pxos_run_blocks(void (*fn)(const void *, int64_t, int64_t), const void *args,
                           int64_t n, int team);

/* pxos: kernel probe_stream from @PROBES_PX@, C dialect (OpenMP over blocks; threads of a block as an inner loop) */
static void __attribute__((noinline)) k_probe_stream_blocks(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, float v_a, float *restrict v_x, int64_t d0_x, float *restrict v_y, int64_t d0_y, int64_t pxos_lo, int64_t pxos_hi)
{
    const int32_t pxos_bsx = 1024;
    const int32_t pxos_gx = (int32_t)((pxos_nx + pxos_bsx - 1) / pxos_bsx);
    if (pxos_nx <= 0) return;
    for (int32_t pxos_bx = (int32_t)pxos_lo; pxos_bx < (int32_t)pxos_hi; ++pxos_bx) {
        int32_t pxos_lx_end = (int32_t)(pxos_nx - (int64_t)pxos_bx * pxos_bsx < pxos_bsx ? pxos_nx - (int64_t)pxos_bx * pxos_bsx : pxos_bsx);
#pragma omp simd
        for (int32_t pxos_lx = (int32_t)0; pxos_lx < pxos_lx_end; ++pxos_lx) {
            int32_t v_i = 0;
#line 8 "@PROBES_PX@"
            v_i = (pxos_bx * pxos_bsx + pxos_lx);
#line 9 "@PROBES_PX@"
            v_y[v_i] = ((v_a * v_x[v_i]) + v_y[v_i]);
        }
    }
}
struct k_probe_stream_args {
    int64_t pxos_nx;
    int64_t pxos_ny;
    int64_t pxos_nz;
    float v_a;
    float *restrict v_x;
    int64_t d0_x;
    float *restrict v_y;
    int64_t d0_y;
};
static void k_probe_stream_piece(const void *pxos_p, int64_t pxos_lo, int64_t pxos_hi)
{
    const struct k_probe_stream_args *pxos_a = (const struct k_probe_stream_args *)pxos_p;
    sigjmp_buf pxos_jb;
    if (sigsetjmp(pxos_jb, 0) == 0) {
        pxos_guard_arm(&pxos_jb);
        k_probe_stream_blocks(pxos_a->pxos_nx, pxos_a->pxos_ny, pxos_a->pxos_nz, pxos_a->v_a, pxos_a->v_x, pxos_a->d0_x, pxos_a->v_y, pxos_a->d0_y, pxos_lo, pxos_hi);
    }
    pxos_guard_disarm();
}
void k_probe_stream(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, float v_a, float *restrict v_x, int64_t d0_x, float *restrict v_y, int64_t d0_y)
{
    const int32_t pxos_bsx = 1024;
    const int32_t pxos_gx = (int32_t)((pxos_nx + pxos_bsx - 1) / pxos_bsx);
    if (pxos_nx <= 0) return;
    const int64_t pxos_nblk = (int64_t)(pxos_gx);
    const int pxos_team = PXOS_TEAM(pxos_gx);
    const struct k_probe_stream_args pxos_args = {pxos_nx, pxos_ny, pxos_nz, v_a, v_x, d0_x, v_y, d0_y};
    if (pxos_team <= 1)
        k_probe_stream_piece(&pxos_args, 0, pxos_nblk);
    else if (!pxos_run_blocks(k_probe_stream_piece, &pxos_args, pxos_nblk, pxos_team)) {
#pragma omp parallel for schedule(static) num_threads(pxos_team)
        for (int pxos_m = 0; pxos_m < pxos_team; ++pxos_m)
            k_probe_stream_piece(&pxos_args, pxos_nblk * pxos_m / pxos_team,
                         pxos_nblk * (pxos_m + 1) / pxos_team);
    }
}


void k_probe_stream_packed(const int64_t *w)
{
    k_probe_stream(w[0], w[1], w[2], pxos_word_f32(&w[3]), (float *)(intptr_t)w[4], w[5], (float *)(intptr_t)w[6], w[7]);
}

#include <setjmp.h>
extern void pxos_guard_arm(sigjmp_buf *jb);
extern void pxos_guard_disarm(void);
extern int pxos_run_blocks(void (*fn)(const void *, int64_t, int64_t), const void *args,
                           int64_t n, int team);

/* pxos: kernel probe_ops from @PROBES_PX@, C dialect (OpenMP over blocks; threads of a block as an inner loop) */
static void __attribute__((noinline)) k_probe_ops_blocks(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, int32_t v_iters, float *restrict v_out, int64_t d0_out, int64_t pxos_lo, int64_t pxos_hi)
{
    const int32_t pxos_bsx = 64;
    const int32_t pxos_gx = (int32_t)((pxos_nx + pxos_bsx - 1) / pxos_bsx);
    if (pxos_nx <= 0) return;
    for (int32_t pxos_bx = (int32_t)pxos_lo; pxos_bx < (int32_t)pxos_hi; ++pxos_bx) {
        int32_t pxos_lx_end = (int32_t)(pxos_nx - (int64_t)pxos_bx * pxos_bsx < pxos_bsx ? pxos_nx - (int64_t)pxos_bx * pxos_bsx : pxos_bsx);
        float v_a[64] = {0};
        float v_b[64] = {0};
        float v_c[64] = {0};
        float v_d[64] = {0};
        int32_t v_k = 0;
        /* region: every thread of the block, up to the next barrier */
#pragma omp simd
        for (int32_t pxos_lx = (int32_t)0; pxos_lx < pxos_lx_end; ++pxos_lx) {
            const int32_t pxos_l = pxos_lx;
            int32_t v_i = 0;
#line 16 "@PROBES_PX@"
            v_i = (pxos_bx * pxos_bsx + pxos_lx);
#line 17 "@PROBES_PX@"
            v_a[pxos_l] = (((float)(v_i & 1023)) * 0.001f);
#line 18 "@PROBES_PX@"
            v_b[pxos_l] = (1.0f - v_a[pxos_l]);
#line 19 "@PROBES_PX@"
            v_c[pxos_l] = (0.5f + v_a[pxos_l]);
#line 20 "@PROBES_PX@"
            v_d[pxos_l] = (0.25f - v_a[pxos_l]);
        }
        for (v_k = 0; v_k < v_iters; ++v_k) {  /* uniform loop (a barrier in it, interchanged or jammed): once per block (or tile) */
            /* region: every thread of the block, up to the next barrier */
#pragma omp simd
            for (int32_t pxos_lx = (int32_t)0; pxos_lx < pxos_lx_end; ++pxos_lx) {
                const int32_t pxos_l = pxos_lx;
                int32_t v_i = 0;
#line 16 "@PROBES_PX@"
                v_i = (pxos_bx * pxos_bsx + pxos_lx);
#line 22 "@PROBES_PX@"
                v_a[pxos_l] = ((v_a[pxos_l] * 0.999f) + 0.001f);
#line 23 "@PROBES_PX@"
                v_b[pxos_l] = ((v_b[pxos_l] * 0.999f) + 0.002f);
#line 24 "@PROBES_PX@"
                v_c[pxos_l] = ((v_c[pxos_l] * 0.999f) + 0.003f);
#line 25 "@PROBES_PX@"
                v_d[pxos_l] = ((v_d[pxos_l] * 0.999f) + 0.004f);
            }
        }
        /* region: every thread of the block, up to the next barrier */
#pragma omp simd
        for (int32_t pxos_lx = (int32_t)0; pxos_lx < pxos_lx_end; ++pxos_lx) {
            const int32_t pxos_l = pxos_lx;
            int32_t v_i = 0;
#line 16 "@PROBES_PX@"
            v_i = (pxos_bx * pxos_bsx + pxos_lx);
#line 26 "@PROBES_PX@"
            v_out[v_i] = (((v_a[pxos_l] + v_b[pxos_l]) + v_c[pxos_l]) + v_d[pxos_l]);
        }
    }
}
struct k_probe_ops_args {
    int64_t pxos_nx;
    int64_t pxos_ny;
    int64_t pxos_nz;
    int32_t v_iters;
    float *restrict v_out;
    int64_t d0_out;
};
static void k_probe_ops_piece(const void *pxos_p, int64_t pxos_lo, int64_t pxos_hi)
{
    const struct k_probe_ops_args *pxos_a = (const struct k_probe_ops_args *)pxos_p;
    sigjmp_buf pxos_jb;
    if (sigsetjmp(pxos_jb, 0) == 0) {
        pxos_guard_arm(&pxos_jb);
        k_probe_ops_blocks(pxos_a->pxos_nx, pxos_a->pxos_ny, pxos_a->pxos_nz, pxos_a->v_iters, pxos_a->v_out, pxos_a->d0_out, pxos_lo, pxos_hi);
    }
    pxos_guard_disarm();
}
void k_probe_ops(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, int32_t v_iters, float *restrict v_out, int64_t d0_out)
{
    const int32_t pxos_bsx = 64;
    const int32_t pxos_gx = (int32_t)((pxos_nx + pxos_bsx - 1) / pxos_bsx);
    if (pxos_nx <= 0) return;
    const int64_t pxos_nblk = (int64_t)(pxos_gx);
    const int pxos_team = PXOS_TEAM(pxos_gx);
    const struct k_probe_ops_args pxos_args = {pxos_nx, pxos_ny, pxos_nz, v_iters, v_out, d0_out};
    if (pxos_team <= 1)
        k_probe_ops_piece(&pxos_args, 0, pxos_nblk);
    else if (!pxos_run_blocks(k_probe_ops_piece, &pxos_args, pxos_nblk, pxos_team)) {
#pragma omp parallel for schedule(static) num_threads(pxos_team)
        for (int pxos_m = 0; pxos_m < pxos_team; ++pxos_m)
            k_probe_ops_piece(&pxos_args, pxos_nblk * pxos_m / pxos_team,
                         pxos_nblk * (pxos_m + 1) / pxos_team);
    }
}


void k_probe_ops_packed(const int64_t *w)
{
    k_probe_ops(w[0], w[1], w[2], (int32_t)w[3], (float *)(intptr_t)w[4], w[5]);
}

#include <setjmp.h>
extern void pxos_guard_arm(sigjmp_buf *jb);
extern void pxos_guard_disarm(void);
extern int pxos_run_blocks(void (*fn)(const void *, int64_t, int64_t), const void *args,
                           int64_t n, int team);

/* pxos: kernel probe_transcendental from @PROBES_PX@, C dialect (OpenMP over blocks; threads of a block as an inner loop) */
static void __attribute__((noinline)) k_probe_transcendental_blocks(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, int32_t v_iters, float *restrict v_out, int64_t d0_out, int64_t pxos_lo, int64_t pxos_hi)
{
    const int32_t pxos_bsx = 64;
    const int32_t pxos_gx = (int32_t)((pxos_nx + pxos_bsx - 1) / pxos_bsx);
    if (pxos_nx <= 0) return;
    for (int32_t pxos_bx = (int32_t)pxos_lo; pxos_bx < (int32_t)pxos_hi; ++pxos_bx) {
        int32_t pxos_lx_end = (int32_t)(pxos_nx - (int64_t)pxos_bx * pxos_bsx < pxos_bsx ? pxos_nx - (int64_t)pxos_bx * pxos_bsx : pxos_bsx);
        float v_a[64] = {0};
        float v_b[64] = {0};
        int32_t v_k = 0;
        /* region: every thread of the block, up to the next barrier */
#pragma omp simd
        for (int32_t pxos_lx = (int32_t)0; pxos_lx < pxos_lx_end; ++pxos_lx) {
            const int32_t pxos_l = pxos_lx;
            int32_t v_i = 0;
#line 33 "@PROBES_PX@"
            v_i = (pxos_bx * pxos_bsx + pxos_lx);
#line 34 "@PROBES_PX@"
            v_a[pxos_l] = (((float)(v_i & 1023)) * 0.001f);
#line 35 "@PROBES_PX@"
            v_b[pxos_l] = (0.5f - v_a[pxos_l]);
        }
        for (v_k = 0; v_k < v_iters; ++v_k) {  /* uniform loop (a barrier in it, interchanged or jammed): once per block (or tile) */
            /* region: every thread of the block, up to the next barrier */
#pragma omp simd
            for (int32_t pxos_lx = (int32_t)0; pxos_lx < pxos_lx_end; ++pxos_lx) {
                const int32_t pxos_l = pxos_lx;
                int32_t v_i = 0;
#line 33 "@PROBES_PX@"
                v_i = (pxos_bx * pxos_bsx + pxos_lx);
#line 37 "@PROBES_PX@"
                v_a[pxos_l] = (sinf(v_a[pxos_l]) + 0.5f);
#line 38 "@PROBES_PX@"
                v_b[pxos_l] = (expf((-v_b[pxos_l])) + 0.25f);
            }
        }
        /* region: every thread of the block, up to the next barrier */
#pragma omp simd
        for (int32_t pxos_lx = (int32_t)0; pxos_lx < pxos_lx_end; ++pxos_lx) {
            const int32_t pxos_l = pxos_lx;
            int32_t v_i = 0;
#line 33 "@PROBES_PX@"
            v_i = (pxos_bx * pxos_bsx + pxos_lx);
#line 39 "@PROBES_PX@"
            v_out[v_i] = (v_a[pxos_l] + v_b[pxos_l]);
        }
    }
}
struct k_probe_transcendental_args {
    int64_t pxos_nx;
    int64_t pxos_ny;
    int64_t pxos_nz;
    int32_t v_iters;
    float *restrict v_out;
    int64_t d0_out;
};
static void k_probe_transcendental_piece(const void *pxos_p, int64_t pxos_lo, int64_t pxos_hi)
{
    const struct k_probe_transcendental_args *pxos_a = (const struct k_probe_transcendental_args *)pxos_p;
    sigjmp_buf pxos_jb;
    if (sigsetjmp(pxos_jb, 0) == 0) {
        pxos_guard_arm(&pxos_jb);
        k_probe_transcendental_blocks(pxos_a->pxos_nx, pxos_a->pxos_ny, pxos_a->pxos_nz, pxos_a->v_iters, pxos_a->v_out, pxos_a->d0_out, pxos_lo, pxos_hi);
    }
    pxos_guard_disarm();
}
void k_probe_transcendental(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, int32_t v_iters, float *restrict v_out, int64_t d0_out)
{
    const int32_t pxos_bsx = 64;
    const int32_t pxos_gx = (int32_t)((pxos_nx + pxos_bsx - 1) / pxos_bsx);
    if (pxos_nx <= 0) return;
    const int64_t pxos_nblk = (int64_t)(pxos_gx);
    const int pxos_team = PXOS_TEAM(pxos_gx);
    const struct k_probe_transcendental_args pxos_args = {pxos_nx, pxos_ny, pxos_nz, v_iters, v_out, d0_out};
    if (pxos_team <= 1)
        k_probe_transcendental_piece(&pxos_args, 0, pxos_nblk);
    else if (!pxos_run_blocks(k_probe_transcendental_piece, &pxos_args, pxos_nblk, pxos_team)) {
#pragma omp parallel for schedule(static) num_threads(pxos_team)
        for (int pxos_m = 0; pxos_m < pxos_team; ++pxos_m)
            k_probe_transcendental_piece(&pxos_args, pxos_nblk * pxos_m / pxos_team,
                         pxos_nblk * (pxos_m + 1) / pxos_team);
    }
}


void k_probe_transcendental_packed(const int64_t *w)
{
    k_probe_transcendental(w[0], w[1], w[2], (int32_t)w[3], (float *)(intptr_t)w[4], w[5]);
}

#include <setjmp.h>
extern void pxos_guard_arm(sigjmp_buf *jb);
extern void pxos_guard_disarm(void);
extern int pxos_run_blocks(void (*fn)(const void *, int64_t, int64_t), const void *args,
                           int64_t n, int team);

/* pxos: kernel probe_atomic from @PROBES_PX@, C dialect (OpenMP over blocks; threads of a block as an inner loop) */
static void __attribute__((noinline)) k_probe_atomic_blocks(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, int32_t v_n, uint32_t *restrict v_hist, int64_t d0_hist, int64_t pxos_lo, int64_t pxos_hi)
{
    const int32_t pxos_bsx = 1024;
    const int32_t pxos_gx = (int32_t)((pxos_nx + pxos_bsx - 1) / pxos_bsx);
    if (pxos_nx <= 0) return;
    uint32_t pxos_own_hist[4096];
    uint32_t *const pxos_to_hist = v_hist;
    const int64_t pxos_n_hist = d0_hist;
    const int pxos_on_hist = pxos_n_hist <= 4096 && pxos_n_hist * 4 <= (pxos_hi - pxos_lo) * 1024;
    if (pxos_on_hist) {
        for (int64_t pxos_i = 0; pxos_i < pxos_n_hist; ++pxos_i) pxos_own_hist[pxos_i] = 0;
        v_hist = pxos_own_hist;
    }
    for (int32_t pxos_bx = (int32_t)pxos_lo; pxos_bx < (int32_t)pxos_hi; ++pxos_bx) {
        int32_t pxos_lx_end = (int32_t)(pxos_nx - (int64_t)pxos_bx * pxos_bsx < pxos_bsx ? pxos_nx - (int64_t)pxos_bx * pxos_bsx : pxos_bsx);
#pragma omp simd
        for (int32_t pxos_lx = (int32_t)0; pxos_lx < pxos_lx_end; ++pxos_lx) {
            int32_t v_i = 0;
#line 50 "@PROBES_PX@"
            v_i = (pxos_bx * pxos_bsx + pxos_lx);
#line 51 "@PROBES_PX@"
            if (pxos_on_hist) (void)pxos_own_add_u32(&v_hist[((((int32_t)((uint32_t)v_i * (uint32_t)97)) ^ (v_i >> (5 & 31))) & 255)], 1u);
            else (void)pxos_atomic_add_u32(&v_hist[((((int32_t)((uint32_t)v_i * (uint32_t)97)) ^ (v_i >> (5 & 31))) & 255)], 1u);
        }
    }
    if (pxos_on_hist)
        for (int64_t pxos_i = 0; pxos_i < pxos_n_hist; ++pxos_i)
            if (pxos_own_hist[pxos_i] != 0) (void)pxos_atomic_add_u32(&pxos_to_hist[pxos_i], pxos_own_hist[pxos_i]);
}
struct k_probe_atomic_args {
    int64_t pxos_nx;
    int64_t pxos_ny;
    int64_t pxos_nz;
    int32_t v_n;
    uint32_t *restrict v_hist;
    int64_t d0_hist;
};
static void k_probe_atomic_piece(const void *pxos_p, int64_t pxos_lo, int64_t pxos_hi)
{
    const struct k_probe_atomic_args *pxos_a = (const struct k_probe_atomic_args *)pxos_p;
    sigjmp_buf pxos_jb;
    if (sigsetjmp(pxos_jb, 0) == 0) {
        pxos_guard_arm(&pxos_jb);
        k_probe_atomic_blocks(pxos_a->pxos_nx, pxos_a->pxos_ny, pxos_a->pxos_nz, pxos_a->v_n, pxos_a->v_hist, pxos_a->d0_hist, pxos_lo, pxos_hi);
    }
    pxos_guard_disarm();
}
void k_probe_atomic(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, int32_t v_n, uint32_t *restrict v_hist, int64_t d0_hist)
{
    const int32_t pxos_bsx = 1024;
    const int32_t pxos_gx = (int32_t)((pxos_nx + pxos_bsx - 1) / pxos_bsx);
    if (pxos_nx <= 0) return;
    const int64_t pxos_nblk = (int64_t)(pxos_gx);
    const int pxos_team = PXOS_TEAM(pxos_gx);
    const struct k_probe_atomic_args pxos_args = {pxos_nx, pxos_ny, pxos_nz, v_n, v_hist, d0_hist};
    if (pxos_team <= 1)
        k_probe_atomic_piece(&pxos_args, 0, pxos_nblk);
    else if (!pxos_run_blocks(k_probe_atomic_piece, &pxos_args, pxos_nblk, pxos_team)) {
#pragma omp parallel for schedule(static) num_threads(pxos_team)
        for (int pxos_m = 0; pxos_m < pxos_team; ++pxos_m)
            k_probe_atomic_piece(&pxos_args, pxos_nblk * pxos_m / pxos_team,
                         pxos_nblk * (pxos_m + 1) / pxos_team);
    }
}


void k_probe_atomic_packed(const int64_t *w)
{
    k_probe_atomic(w[0], w[1], w[2], (int32_t)w[3], (uint32_t *)(intptr_t)w[4], w[5]);
}

#include <setjmp.h>
extern void pxos_guard_arm(sigjmp_buf *jb);
extern void pxos_guard_disarm(void);
extern int pxos_run_blocks(void (*fn)(const void *, int64_t, int64_t), const void *args,
                           int64_t n, int team);

/* pxos: kernel probe_divergent from @PROBES_PX@, C dialect (OpenMP over blocks; threads of a block as an inner loop) */
static void __attribute__((noinline)) k_probe_divergent_blocks(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, int32_t v_iters, float *restrict v_out, int64_t d0_out, int64_t pxos_lo, int64_t pxos_hi)
{
    const int32_t pxos_bsx = 64;
    const int32_t pxos_gx = (int32_t)((pxos_nx + pxos_bsx - 1) / pxos_bsx);
    if (pxos_nx <= 0) return;
    for (int32_t pxos_bx = (int32_t)pxos_lo; pxos_bx < (int32_t)pxos_hi; ++pxos_bx) {
        int32_t pxos_lx_end = (int32_t)(pxos_nx - (int64_t)pxos_bx * pxos_bsx < pxos_bsx ? pxos_nx - (int64_t)pxos_bx * pxos_bsx : pxos_bsx);
        float v_a[64] = {0};
        float v_b[64] = {0};
        float v_c[64] = {0};
        float v_d[64] = {0};
        int32_t v_i[64] = {0};
        int32_t v_k[64] = {0};
        int32_t v_pxos_still[64] = {0};
#pragma omp simd
        for (int32_t pxos_lx = (int32_t)0; pxos_lx < pxos_lx_end; ++pxos_lx) {
            const int32_t pxos_l = pxos_lx;
#line 78 "@PROBES_PX@"
            v_i[pxos_l] = (pxos_bx * pxos_bsx + pxos_lx);
#line 79 "@PROBES_PX@"
            v_a[pxos_l] = (((float)(v_i[pxos_l] & 1023)) * 0.001f);
#line 80 "@PROBES_PX@"
            v_b[pxos_l] = (1.0f - v_a[pxos_l]);
#line 81 "@PROBES_PX@"
            v_c[pxos_l] = (0.5f + v_a[pxos_l]);
#line 82 "@PROBES_PX@"
            v_d[pxos_l] = (0.25f - v_a[pxos_l]);
#line 83 "@PROBES_PX@"
            v_k[pxos_l] = 0;
#line 84 "@PROBES_PX@"
            v_pxos_still[pxos_l] = 1;
        }
        for (;;) {  /* a trip of the loop for every thread still in it */
            int32_t v_pxos_any = 0;
#pragma omp simd reduction(|:v_pxos_any)
            for (int32_t pxos_lx = (int32_t)0; pxos_lx < pxos_lx_end; ++pxos_lx) {
                const int32_t pxos_l = pxos_lx;
                int32_t v_pxos_active = 0;
                int32_t v_pxos_m0 = 0;
                v_pxos_active = (v_pxos_still[pxos_l] & ((int32_t)(v_k[pxos_l] < v_iters)));
                v_pxos_m0 = (v_pxos_active & ((int32_t)(v_a[pxos_l] > 2.0f)));
#line 86 "@PROBES_PX@"
                v_pxos_active = (v_pxos_active & ((int32_t)(v_pxos_m0 == 0)));
#line 87 "@PROBES_PX@"
                v_a[pxos_l] = ((v_pxos_active != 0) ? ((v_a[pxos_l] * 0.999f) + 0.001f) : v_a[pxos_l]);
#line 88 "@PROBES_PX@"
                v_b[pxos_l] = ((v_pxos_active != 0) ? ((v_b[pxos_l] * 0.999f) + 0.002f) : v_b[pxos_l]);
#line 89 "@PROBES_PX@"
                v_c[pxos_l] = ((v_pxos_active != 0) ? ((v_c[pxos_l] * 0.999f) + 0.003f) : v_c[pxos_l]);
#line 90 "@PROBES_PX@"
                v_d[pxos_l] = ((v_pxos_active != 0) ? ((v_d[pxos_l] * 0.999f) + 0.004f) : v_d[pxos_l]);
#line 91 "@PROBES_PX@"
                v_k[pxos_l] = ((v_pxos_active != 0) ? ((int32_t)((uint32_t)v_k[pxos_l] + (uint32_t)1)) : v_k[pxos_l]);
#line 84 "@PROBES_PX@"
                v_pxos_still[pxos_l] = v_pxos_active;
                v_pxos_any = (v_pxos_any | v_pxos_active);
            }
            if (!v_pxos_any) break;
        }
#pragma omp simd
        for (int32_t pxos_lx = (int32_t)0; pxos_lx < pxos_lx_end; ++pxos_lx) {
            const int32_t pxos_l = pxos_lx;
#line 92 "@PROBES_PX@"
            v_out[v_i[pxos_l]] = (((v_a[pxos_l] + v_b[pxos_l]) + v_c[pxos_l]) + v_d[pxos_l]);
        }
    }
}
struct k_probe_divergent_args {
    int64_t pxos_nx;
    int64_t pxos_ny;
    int64_t pxos_nz;
    int32_t v_iters;
    float *restrict v_out;
    int64_t d0_out;
};
static void k_probe_divergent_piece(const void *pxos_p, int64_t pxos_lo, int64_t pxos_hi)
{
    const struct k_probe_divergent_args *pxos_a = (const struct k_probe_divergent_args *)pxos_p;
    sigjmp_buf pxos_jb;
    if (sigsetjmp(pxos_jb, 0) == 0) {
        pxos_guard_arm(&pxos_jb);
        k_probe_divergent_blocks(pxos_a->pxos_nx, pxos_a->pxos_ny, pxos_a->pxos_nz, pxos_a->v_iters, pxos_a->v_out, pxos_a->d0_out, pxos_lo, pxos_hi);
    }
    pxos_guard_disarm();
}
void k_probe_divergent(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, int32_t v_iters, float *restrict v_out, int64_t d0_out)
{
    const int32_t pxos_bsx = 64;
    const int32_t pxos_gx = (int32_t)((pxos_nx + pxos_bsx - 1) / pxos_bsx);
    if (pxos_nx <= 0) return;
    const int64_t pxos_nblk = (int64_t)(pxos_gx);
    const int pxos_team = PXOS_TEAM(pxos_gx);
    const struct k_probe_divergent_args pxos_args = {pxos_nx, pxos_ny, pxos_nz, v_iters, v_out, d0_out};
    if (pxos_team <= 1)
        k_probe_divergent_piece(&pxos_args, 0, pxos_nblk);
    else if (!pxos_run_blocks(k_probe_divergent_piece, &pxos_args, pxos_nblk, pxos_team)) {
#pragma omp parallel for schedule(static) num_threads(pxos_team)
        for (int pxos_m = 0; pxos_m < pxos_team; ++pxos_m)
            k_probe_divergent_piece(&pxos_args, pxos_nblk * pxos_m / pxos_team,
                         pxos_nblk * (pxos_m + 1) / pxos_team);
    }
}


void k_probe_divergent_packed(const int64_t *w)
{
    k_probe_divergent(w[0], w[1], w[2], (int32_t)w[3], (float *)(intptr_t)w[4], w[5]);
}
