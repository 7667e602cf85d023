/* A persistent pool of POSIX threads for the helpers that run one call per chunk on every
 * core (pasted into evp_threads.c and lz4_threads.c by the build, as native_call's _source
 * does; each helper has its own pool).
 *
 * pool_run(fn, arg, n) runs fn(arg, slot) for slots 0 .. n-1 side by side: slot 0 in the
 * calling thread (which has released the GIL), the others on workers that stay alive
 * between calls. fn shares its work out itself (an atomic counter of pieces), so a worker
 * that starts late, or a core that another process takes for a while, only leaves more
 * pieces to the others; the result never depends on how many slots ran.
 *
 * Why a pool: starting a thread per chunk, and waking a sleeping one, costs tens of
 * microseconds on a virtual machine whose idle CPU is halted (an IPI and a VM entry), paid
 * once per chunk on the critical path. A worker busy-waits up to spin_ns (100 us unless
 * set_spin changes it) after its share, and the caller as long for the workers, before it
 * sleeps on a condition variable, so back-to-back chunks hand over without a wake-up. The
 * pool serves one call at a time (a mutex); a child process after fork() starts with no
 * workers.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define POOL_MAX 256

typedef void (*share_fn)(void *arg, int slot);

static struct {
    pthread_mutex_t call, lock;
    pthread_cond_t wake, done;
    int threads;           /* workers started: slots 1 .. threads */
    share_fn fn;           /* this run's work, read by a worker after it sees gen change */
    void *arg;
    int want;              /* slots 1 .. want take part in this run */
    atomic_uint gen;       /* bumped by every run (with fn, arg and want, under lock) */
    atomic_int left;       /* workers taking part that have not yet finished this run */
    long spin_ns;          /* busy wait before sleeping (set_spin) */
    unsigned born[POOL_MAX + 1];  /* gen when each worker was started */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
          PTHREAD_COND_INITIALIZER, 0, NULL, NULL, 0, 0, 0, 100000, {0}};

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Busy-wait up to spin_ns for gen to leave `seen` (or, with for_left, for left to reach
 * 0); 1 if it did. */
static int spin_until(unsigned seen, int for_left)
{
    long end = pool.spin_ns > 0 ? now_ns() + pool.spin_ns : 0;
    for (int k = 0; end; k++) {
        if (for_left ? atomic_load(&pool.left) == 0 : atomic_load(&pool.gen) != seen) return 1;
        if ((k & 63) == 63 && now_ns() > end) return 0;
        cpu_relax();
    }
    return 0;
}

static void *pool_worker(void *p)
{
    int slot = (int)(intptr_t)p;
    unsigned seen = pool.born[slot];
    for (;;) {
        if (!spin_until(seen, 0)) {
            pthread_mutex_lock(&pool.lock);
            while (atomic_load(&pool.gen) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
            pthread_mutex_unlock(&pool.lock);
        }
        /* one run's gen, fn, arg and want together: a worker left out of a run may see the
         * next one first, and then takes its part in that one only */
        pthread_mutex_lock(&pool.lock);
        seen = atomic_load(&pool.gen);
        share_fn fn = pool.fn;
        void *arg = pool.arg;
        int take = slot <= pool.want;
        pthread_mutex_unlock(&pool.lock);
        if (!take) continue;
        fn(arg, slot);
        if (atomic_fetch_sub(&pool.left, 1) == 1) {
            pthread_mutex_lock(&pool.lock);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
    }
    return NULL;
}

static void pool_after_fork(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    pool.call = m, pool.lock = m, pool.wake = c, pool.done = c;
    pool.threads = 0;
}

/* Run fn(arg, slot) for slots 0 .. n-1 (n <= POOL_MAX + 1); fewer where a thread cannot be
 * started (fn must then still do all the work). Call without the GIL. */
static void pool_run(share_fn fn, void *arg, int n)
{
    if (n <= 1) {
        fn(arg, 0);
        return;
    }
    pthread_mutex_lock(&pool.call);
    while (pool.threads < n - 1 && pool.threads < POOL_MAX) {
        pthread_t tid;
        int slot = pool.threads + 1;
        pool.born[slot] = atomic_load(&pool.gen);
        if (pthread_create(&tid, NULL, pool_worker, (void *)(intptr_t)slot) != 0) break;
        pthread_detach(tid);
        pool.threads = slot;
    }
    pthread_mutex_lock(&pool.lock);
    pool.fn = fn, pool.arg = arg, pool.want = n - 1 < pool.threads ? n - 1 : pool.threads;
    atomic_store(&pool.left, pool.want);  /* only the workers that take part answer */
    atomic_fetch_add(&pool.gen, 1);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    fn(arg, 0);
    if (!spin_until(0, 1)) {
        pthread_mutex_lock(&pool.lock);
        while (atomic_load(&pool.left) != 0) pthread_cond_wait(&pool.done, &pool.lock);
        pthread_mutex_unlock(&pool.lock);
    }
    pthread_mutex_unlock(&pool.call);
}

#ifdef Py_PYTHON_H
/* set_spin(ns): how long the pool's threads busy-wait before they sleep (0: never); a
 * method of each helper module on this pool (POOL_SET_SPIN in its method table). */
static PyObject *pool_set_spin(PyObject *self, PyObject *args)
{
    long ns;
    if (!PyArg_ParseTuple(args, "l", &ns)) return NULL;
    pool.spin_ns = ns < 0 ? 0 : ns;
    Py_RETURN_NONE;
}

#define POOL_SET_SPIN \
    {"set_spin", pool_set_spin, METH_VARARGS, \
     "set_spin(ns): the pool threads' busy wait before they sleep."}
#endif
