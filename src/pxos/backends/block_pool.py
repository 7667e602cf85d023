"""The C backend's block pool: a launch's blocks spread over worker threads that take
over each other's work, so one thread that loses its core does not hold the launch.

An OpenMP parallel loop (libgomp's) ends at a barrier every thread of the team must reach,
and the next one starts only once every thread is back at its dock: a worker whose core is
taken by another process (a thread of another program, a hypervisor's) while it spins
between two launches holds the caller until the scheduler gives it a core again, 13 to
77 ms on the H200 machine's 16 cores, in pxos's rounds and Numba's alike
(``benchmarks/suite.py --rounds``). A launch through this pool waits only for blocks:

* the calling thread (member 0) and ``team - 1`` workers (made on the first launch that
  needs them, one pool per calling thread) each own a contiguous share of the blocks, the
  shares libgomp's ``schedule(static)`` gives (so a block runs on the same core as in the
  launch before while every member is there: its data is in that core's cache);
* a member takes its share in pieces of an eighth from the front (an atomic add), then
  takes pieces of the other shares in turn: a member that is late, or never wakes, has
  its share done by the others;
* the caller, once every piece is taken, closes the launch and waits only for the
  members that joined it (each joins with a compare-and-swap while the launch is open and
  leaves when it finds no piece): a worker that wakes after the close does nothing.

Idle workers spin for :data:`SPIN_US` µs (``OMP_WAIT_POLICY=passive``, or a team of
more threads than the process has cores, as libgomp throttles its spinning then: none;
``active``: :data:`ACTIVE_SPIN_US`), then sleep on a futex the next launch wakes. A
memory fault in a piece ends that piece (the guard's jump buffer is armed around each).
``PXOS_C_POOL=0`` switches the pool off: every launch then runs its OpenMP loop (the
generated code keeps it, also for a launch from a pool worker, past :data:`MAX_TEAM`
threads, or on a system other than Linux, whose futexes the pool waits on). A pool whose calling thread ends is told to stop, and its
workers end (its few KiB stay allocated).

The design is libgomp's dock and barrier (``team.c``, ``config/linux/wait.h``) without its
end barrier, and the owner-first, steal-after order of work stealing (Blumofe and
Leiserson, "Scheduling multithreaded computations by work stealing", JACM 46(5), 1999).
"""

from __future__ import annotations

MAX_TEAM = 256
PIECES = 8  # pieces a share is taken in
SPIN_US = 2000  # an idle worker's spin before it sleeps: covers the host's work between
# the launches of a time loop (jacobi2d: about 5 µs); libgomp's workers spin longer by
# default (GOMP_SPINCOUNT: 300,000 turns of a loop with a pause instruction each)
ACTIVE_SPIN_US = 200_000

SOURCE = r"""
#include <stdint.h>
typedef void (*pxos_piece_fn)(const void *args, int64_t lo, int64_t hi);
#ifndef __linux__
/* the pool waits on futexes, which only Linux has: elsewhere every launch runs its
   OpenMP loop */
int pxos_run_blocks(pxos_piece_fn fn, const void *args, int64_t n, int team)
{
    (void)fn; (void)args; (void)n; (void)team;
    return 0;
}
#else
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PXOS_MAX_TEAM @MAX_TEAM@
#define PXOS_PIECES @PIECES@
#define PXOS_OPEN (1ull << 63)

struct pxos_share {
    _Alignas(64) atomic_llong next;
    long long end, piece;
};

struct pxos_pool {
    pxos_piece_fn fn;  /* the launch: written while closed, read by members */
    const void *args;
    int team, workers;
    _Alignas(64) atomic_ullong state;  /* PXOS_OPEN | members that joined */
    _Alignas(64) atomic_uint wake;  /* futex word: bumped when a launch opens */
    atomic_int sleepers, quit;
    atomic_long spin_ns;  /* how long an idle worker spins: 0 when the team has more
                             threads than the process has cores */
    struct pxos_share share[PXOS_MAX_TEAM];
};

struct pxos_worker { struct pxos_pool *pool; int member; unsigned seen; };

static int pxos_pool_on = -1;  /* PXOS_C_POOL, read once */
static long pxos_spin_ns = @SPIN_US@ * 1000L;
static int pxos_cores = 0;  /* the cores this process may run on */
static __thread struct pxos_pool *pxos_pool_mine = 0;
static __thread int pxos_pool_worker = 0;
static pthread_key_t pxos_pool_key;
static pthread_once_t pxos_pool_once = PTHREAD_ONCE_INIT;

static long pxos_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void pxos_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* every piece of every share, own share first */
static void pxos_take_pieces(struct pxos_pool *p, int member)
{
    for (int i = 0; i < p->team; i++) {
        struct pxos_share *s = &p->share[(member + i) % p->team];
        /* a read first: a share already taken costs no write to its line */
        if (atomic_load_explicit(&s->next, memory_order_relaxed) >= s->end) continue;
        for (;;) {
            long long lo = atomic_fetch_add_explicit(&s->next, s->piece, memory_order_relaxed);
            if (lo >= s->end) break;
            p->fn(p->args, lo, lo + s->piece < s->end ? lo + s->piece : s->end);
        }
    }
}

static void pxos_wait_launch(struct pxos_pool *p, unsigned seen)
{
    long until = pxos_now_ns() + atomic_load_explicit(&p->spin_ns, memory_order_relaxed);
    for (unsigned i = 1; atomic_load(&p->wake) == seen; i++) {
        if (atomic_load_explicit(&p->quit, memory_order_relaxed)) return;
        if ((i & 63) == 0 && pxos_now_ns() > until) {
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->wake) == seen && !atomic_load(&p->quit))
                syscall(SYS_futex, &p->wake, FUTEX_WAIT_PRIVATE, seen, 0, 0, 0);
            atomic_fetch_sub(&p->sleepers, 1);
            return;
        }
        pxos_pause();
    }
}

static void *pxos_worker_main(void *arg)
{
    struct pxos_worker w = *(struct pxos_worker *)arg;
    struct pxos_pool *p = w.pool;
    unsigned seen = w.seen;  /* the wake count before the launch that made it */
    free(arg);
    pxos_pool_worker = 1;
    while (!atomic_load(&p->quit)) {
        pxos_wait_launch(p, seen);
        seen = atomic_load(&p->wake);
        unsigned long long s = atomic_load(&p->state);
        while ((s & PXOS_OPEN) && !atomic_compare_exchange_weak(&p->state, &s, s + 1)) { }
        if (!(s & PXOS_OPEN)) continue;  /* closed before this worker came */
        if (w.member < p->team) pxos_take_pieces(p, w.member);
        atomic_fetch_sub(&p->state, 1);
    }
    return 0;
}

static void pxos_pool_end(void *arg)  /* the calling thread ended: its workers stop */
{
    struct pxos_pool *p = arg;
    atomic_store(&p->quit, 1);
    atomic_fetch_add(&p->wake, 1);
    syscall(SYS_futex, &p->wake, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0, 0, 0);
}

static void pxos_pool_forked(void) { pxos_pool_mine = 0; }  /* no workers in a child */

static void pxos_pool_init(void)
{
    const char *on = getenv("PXOS_C_POOL"), *wait = getenv("OMP_WAIT_POLICY");
    pxos_pool_on = !(on && strcmp(on, "0") == 0);
    if (wait && strcasecmp(wait, "passive") == 0) pxos_spin_ns = 0;
    if (wait && strcasecmp(wait, "active") == 0) pxos_spin_ns = @ACTIVE_SPIN_US@ * 1000L;
    cpu_set_t set;
    pxos_cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    if (pthread_key_create(&pxos_pool_key, pxos_pool_end) != 0) pxos_pool_on = 0;
    pthread_atfork(0, 0, pxos_pool_forked);
}

static struct pxos_pool *pxos_pool_get(int team)
{
    struct pxos_pool *p = pxos_pool_mine;
    if (!p) {
        p = aligned_alloc(64, (sizeof *p + 63) / 64 * 64);
        if (!p) return 0;
        memset(p, 0, sizeof *p);
        pxos_pool_mine = p;
        pthread_setspecific(pxos_pool_key, p);
    }
    while (p->workers < team - 1) {
        struct pxos_worker *w = malloc(sizeof *w);
        pthread_t t;
        if (!w) break;
        w->pool = p;
        w->member = p->workers + 1;
        w->seen = atomic_load(&p->wake);
        if (pthread_create(&t, 0, pxos_worker_main, w) != 0) { free(w); break; }
        pthread_detach(t);
        p->workers++;
    }
    return p;
}

/* Run fn(args, lo, hi) over blocks [0, n) with a team of `team` members (the caller
   and team - 1 workers); 1 when done, 0 when the caller must run its OpenMP loop. */
int pxos_run_blocks(pxos_piece_fn fn, const void *args, int64_t n, int team)
{
    pthread_once(&pxos_pool_once, pxos_pool_init);
    if (!pxos_pool_on || pxos_pool_worker || team < 2 || team > PXOS_MAX_TEAM) return 0;
    struct pxos_pool *p = pxos_pool_get(team);
    if (!p) return 0;
    p->fn = fn;
    p->args = args;
    p->team = team;
    /* more threads than cores: spinning workers would take the cores of working ones */
    atomic_store_explicit(&p->spin_ns, pxos_cores && team > pxos_cores ? 0 : pxos_spin_ns,
                          memory_order_relaxed);
    for (int m = 0; m < team; m++) {
        long long lo = n * m / team, end = n * (m + 1) / team;
        p->share[m].end = end;
        p->share[m].piece = (end - lo + PXOS_PIECES - 1) / PXOS_PIECES;
        if (p->share[m].piece < 1) p->share[m].piece = 1;
        atomic_store_explicit(&p->share[m].next, lo, memory_order_relaxed);
    }
    atomic_store(&p->state, PXOS_OPEN);
    atomic_fetch_add(&p->wake, 1);
    if (atomic_load(&p->sleepers) > 0)
        syscall(SYS_futex, &p->wake, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0, 0, 0);
    pxos_take_pieces(p, 0);
    atomic_fetch_and(&p->state, ~PXOS_OPEN);
    while (atomic_load(&p->state) != 0) pxos_pause();
    return 1;
}
#endif
"""


def source() -> str:
    """The pool's C, its constants filled in (compiled into the guard library)."""
    return (SOURCE.replace("@MAX_TEAM@", str(MAX_TEAM)).replace("@PIECES@", str(PIECES))
            .replace("@SPIN_US@", str(SPIN_US))
            .replace("@ACTIVE_SPIN_US@", str(ACTIVE_SPIN_US)))
