/* pxos's host sampler thread in C (lib/profile/native_sampler.py describes it).
 *
 * A POSIX thread wakes once a period, at fixed deadlines (a condition variable's timed
 * wait on CLOCK_MONOTONIC, which stop() ends at once). Where the sampled thread is
 * Python's main thread, it asks that thread to sample itself (Py_AddPendingCall: the
 * interpreter runs the call between two bytecodes, with the GIL it already holds, so the
 * GIL changes hands not at all) and goes back to sleep: nothing is signalled back. Where
 * the call is still queued at the next wake-up (the thread is in a call that released the
 * GIL, a kernel on c say), or for another thread, it takes the GIL itself with the thread
 * state it made once. A sample copies the stack as it is: per frame the code object (a
 * new reference) and instruction offset in bytes (what frame.f_lasti gives), read from
 * the interpreter's frames as Cython and greenlet read them, without making frame
 * objects; plus the recorder's ``current`` attribute and the `.px` statement running
 * (``pxos.host.interrupt._now[0]``, once that module is loaded). Nothing is named while
 * the program runs: taken() hands the raw samples over after stop(). counts() gives what
 * the sampling cost: wake-ups, samples by each path, the thread's CPU time.
 *
 * CPython 3.11 and 3.12 only (the interpreter's frame layout); available() says whether
 * this build has it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030D0000 && !defined(PYPY_VERSION)
#define FRAMES_INSIDE 1
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#include <internal/pycore_frame.h>  /* with -I Python's include folder */
#undef _PyGC_FINALIZED  /* Python.h's public spelling; the internal headers define it */
#include <internal/pycore_runtime.h>  /* the GIL's state: main_holds_gil() */
#include <internal/pycore_interp.h>   /* the eval breaker: ask() */
#endif

typedef struct {
    int64_t t;                 /* CLOCK_MONOTONIC ns (perf_counter's clock) */
    Py_ssize_t first, depth;   /* its frames in codes/lastis, innermost first */
    PyObject *current, *stmt;  /* new references */
} Sample;

static Sample *samples;
static Py_ssize_t nsamples, csamples;
static PyObject **codes;
static int *lastis;
static Py_ssize_t nframes, cframes;

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;  /* on CLOCK_MONOTONIC (made by the module's init) */
/* shared by the sampler thread and the main thread's pending call without a lock (the main
   thread never waits for the sampler thread: a lock held by it while the scheduler ran
   something else made the main thread sleep, tens of microseconds on a loaded machine) */
static atomic_int running;
static atomic_int queued;  /* a pending call is in the interpreter's queue */
static atomic_intptr_t pending;  /* the number of the queued call that may sample; 0: none */
static int started, main_target;
static intptr_t asked_count;  /* pending calls asked for, ever (a stale one never matches) */
static long count, wakes, by_call, by_thread;
static int64_t thread_cpu_ns;  /* the sampler thread's CPU time, when it ended */
static int64_t call_ns;  /* the main thread's time in its pending calls' samples */
static int32_t *call_costs;  /* each one's ns (costs()) */
static Py_ssize_t ncosts, ccosts;
static unsigned long target;
static PyThreadState *main_state;  /* the main thread's state, when it is the target */
static int64_t period_ns;
static long memory_every;
static PyObject *recorder, *on_memory, *s_current, *s_interrupt, *s_now;
static double t0;
#define MAX_EPOCHS 4
static long *epochs[MAX_EPOCHS];  /* the launch records' epochs (pace()), bumped per sample */
static int nepochs;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int grow(void **buffer, Py_ssize_t *capacity, Py_ssize_t need, size_t item)
{
    if (need <= *capacity) return 0;
    Py_ssize_t want = *capacity ? *capacity : 4096;
    while (want < need) want *= 2;
    void *grown = PyMem_Realloc(*buffer, want * item);
    if (grown == NULL) return -1;
    *buffer = grown;
    *capacity = want;
    return 0;
}

static int grow_frames(Py_ssize_t need)
{
    if (need <= cframes) return 0;
    Py_ssize_t want = cframes ? 2 * cframes : 65536;
    while (want < need) want *= 2;
    PyObject **c = PyMem_Realloc(codes, want * sizeof(PyObject *));
    if (c == NULL) return -1;
    codes = c;
    int *l = PyMem_Realloc(lastis, want * sizeof(int));
    if (l == NULL) return -1;
    lastis = l;
    cframes = want;
    return 0;
}

/* the `.px` statement running (a new reference; None where none): interrupt.current()'s
   value, pxos.host.interrupt._now[0] (a list the module never rebinds), read without
   calling Python; the list is looked up until that module is loaded, then kept (a
   sample's every look-up is a cache miss or two at 1 kHz) */
static PyObject *now_list;
static PyObject *running_statement(void)
{
    if (now_list == NULL) {
        PyObject *interrupt = PyImport_GetModule(s_interrupt);  /* NULL: not loaded */
        PyObject *now = interrupt ? PyObject_GetAttr(interrupt, s_now) : NULL;
        Py_XDECREF(interrupt);
        PyErr_Clear();
        if (now != NULL && !PyList_Check(now)) Py_CLEAR(now);
        now_list = now;
    }
    PyObject *stmt = now_list && PyList_GET_SIZE(now_list) > 0
                   ? PyList_GET_ITEM(now_list, 0) : Py_None;
    return Py_NewRef(stmt);
}

/* one sample of the target thread (GIL held); dropped where memory runs out */
static void take_sample(int64_t t)
{
#ifdef FRAMES_INSIDE
    PyThreadState *ts = PyInterpreterState_ThreadHead(PyInterpreterState_Main());
    while (ts != NULL && ts->thread_id != target) ts = PyThreadState_Next(ts);
    if (ts == NULL || grow((void **)&samples, &csamples, nsamples + 1, sizeof(Sample)))
        return;
    Py_ssize_t first = nframes;
    for (_PyInterpreterFrame *f = ts->cframe->current_frame; f != NULL; f = f->previous) {
        if (_PyFrame_IsIncomplete(f)) continue;
        if (grow_frames(nframes + 1)) break;
        codes[nframes] = Py_NewRef((PyObject *)f->f_code);
        lastis[nframes++] = _PyInterpreterFrame_LASTI(f) * (int)sizeof(_Py_CODEUNIT);
    }
    Sample *s = &samples[nsamples++];
    s->t = t;
    s->first = first;
    s->depth = nframes - first;
    s->current = PyObject_GetAttr(recorder, s_current);
    if (s->current == NULL) { PyErr_Clear(); s->current = Py_NewRef(Py_None); }
    s->stmt = running_statement();
#endif
}

/* the sample of a period (GIL held): the stack, and the memory gauges every memory_every */
static void sample_now(int64_t t)
{
    for (int i = 0; i < nepochs; i++) (*epochs[i])++;  /* a period began (launch records) */
    take_sample(t);
    if (on_memory != Py_None && ++count % memory_every == 0) {
        PyObject *r = PyObject_CallFunction(on_memory, "d", (double)t / 1e9 - t0);
        if (r == NULL) PyErr_WriteUnraisable(on_memory);
        Py_XDECREF(r);
    }
}

/* a pending call (Py_AddPendingCall): run by the main thread itself between two bytecodes,
   with the GIL it holds already; samples unless the sampler thread voided it meanwhile
   (asked: the call's number, which pending holds while the call may sample). Nothing is
   signalled back and no lock is taken: a wake-up of the sampler thread from here would
   cost the main thread a system call, and the scheduler often runs the woken thread on
   the waker's core, preempting it (the first version did both: 13-37 us of the main
   thread's CPU per sample on a loaded 2-core VM, where this costs 1-4 us) */
static int sample_pending(void *asked)
{
    atomic_store(&queued, 0);
    intptr_t mine = (intptr_t)asked;
    if (!atomic_load(&running) || !atomic_compare_exchange_strong(&pending, &mine, 0))
        return 0;  /* voided: the sampler thread took this period's sample */
    PyObject *type, *value, *trace;
    PyErr_Fetch(&type, &value, &trace);
    int64_t t = now_ns();
    sample_now(t);
    by_call++;
    int64_t cost = now_ns() - t;
    call_ns += cost;
    if (!grow((void **)&call_costs, &ccosts, ncosts + 1, sizeof(int32_t)))
        call_costs[ncosts++] = cost > INT32_MAX ? INT32_MAX : (int32_t)cost;
    PyErr_Restore(type, value, trace);
    return 0;
}

/* whether the main thread holds the GIL now (in a long C call that keeps it, or not given
   a core): then its pending call samples when it comes, and the sampler thread leaves it
   be; 0 where this build cannot tell (the sampler thread then takes the GIL, waiting) */
static int main_holds_gil(void)
{
#if defined(FRAMES_INSIDE) && PY_VERSION_HEX < 0x030C0000
    struct _gil_runtime_state *gil = &_PyRuntime.ceval.gil;
#elif defined(FRAMES_INSIDE)
    struct _gil_runtime_state *gil = PyInterpreterState_Main()->ceval.gil;
#endif
#ifdef FRAMES_INSIDE
    return _Py_atomic_load_relaxed(&gil->locked)
        && (PyThreadState *)_Py_atomic_load_relaxed(&gil->last_holder) == main_state;
#else
    return 0;
#endif
}

/* queue the pending call `asked` for the main thread, and make it look at its queue now:
   Py_AddPendingCall from another thread does not (CPython 3.11 and 3.12 set the eval
   breaker for pending calls only when the caller is the main thread), so the breaker is
   set here, as a signal's arrival sets it; the main thread runs the call at its next
   check between bytecodes and recomputes the breaker. 1: queued */
static int ask(intptr_t asked)
{
    if (Py_AddPendingCall(sample_pending, (void *)asked) != 0) return 0;
#ifdef FRAMES_INSIDE
    _Py_atomic_store_relaxed(&PyInterpreterState_Main()->ceval.eval_breaker, 1);
#endif
    return 1;
}

/* sleep until the CLOCK_MONOTONIC time `until` (ns), or a signal of `wake` (lock held) */
static void sleep_until(int64_t until)
{
    struct timespec t = {until / 1000000000LL, until % 1000000000LL};
    pthread_cond_timedwait(&wake, &lock, &t);
}

/* the thread: one wake-up per period at fixed deadlines. The main thread is asked to
   sample itself (a pending call) unless the last call is still queued a period later:
   then the main thread has not run a bytecode since (a call that released the GIL, a
   kernel on c say, or a long C call), and the sampler thread takes the GIL and samples it
   where it is, voiding the queued call, unless the main thread holds the GIL (the call
   samples when it comes) */
static void *loop(void *unused)
{
    PyGILState_STATE gil = PyGILState_Ensure();  /* this thread's state, made once */
    PyThreadState *mine = PyEval_SaveThread();
    int64_t deadline = now_ns();
    pthread_mutex_lock(&lock);  /* held only while it sleeps (stop() signals `wake`) */
    while (atomic_load(&running)) {
        deadline += period_ns;
        sleep_until(deadline);
        if (!atomic_load(&running)) break;
        pthread_mutex_unlock(&lock);
        int64_t now = now_ns();
        wakes++;
        if (deadline < now - period_ns) deadline = now;  /* late by periods: no catching up */
        int take = 1;
        if (main_target && !atomic_load(&queued)) {  /* ask: the main thread samples itself */
            atomic_store(&pending, ++asked_count);
            atomic_store(&queued, 1);
            if (!ask(asked_count)) {  /* the interpreter's queue is full: next period */
                atomic_store(&queued, 0);
                atomic_store(&pending, 0);
            }
            take = 0;
        } else if (main_target) {  /* still queued: no bytecode ran for a period */
            take = !main_holds_gil();
            if (take) atomic_store(&pending, 0);  /* void it: this period's sample is ours */
        }
        if (take) {
            PyEval_RestoreThread(mine);
            sample_now(now_ns());
            by_thread++;
            mine = PyEval_SaveThread();
        }
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    struct timespec cpu;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
        thread_cpu_ns = (int64_t)cpu.tv_sec * 1000000000LL + cpu.tv_nsec;
    PyEval_RestoreThread(mine);
    PyGILState_Release(gil);
    return NULL;
}

/* start(thread_id, period_s, recorder, on_memory or None, t0, memory_every, is_main):
   is_main: thread_id is Python's main thread (which runs pending calls) */
static PyObject *start(PyObject *m, PyObject *args)
{
    double period;
    PyObject *rec, *memory;
    if (started) {
        PyErr_SetString(PyExc_RuntimeError, "the native sampler is running");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "kdOOdlp", &target, &period, &rec, &memory, &t0,
                          &memory_every, &main_target))
        return NULL;
    period_ns = (int64_t)(period * 1e9);
    if (period_ns < 1000) period_ns = 1000;
    atomic_store(&queued, 0);
    atomic_store(&pending, 0);
    count = wakes = by_call = by_thread = 0;
    thread_cpu_ns = call_ns = 0;
    ncosts = 0;
    main_state = NULL;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(PyInterpreterState_Main());
         ts != NULL && main_target; ts = PyThreadState_Next(ts))
        if (ts->thread_id == target) main_state = ts;
    if (memory_every < 1) memory_every = 1;
    recorder = Py_NewRef(rec);
    on_memory = Py_NewRef(memory);
    atomic_store(&running, 1);
    if (pthread_create(&thread, NULL, loop, NULL) != 0) {
        atomic_store(&running, 0);
        Py_CLEAR(recorder);
        Py_CLEAR(on_memory);
        PyErr_SetString(PyExc_RuntimeError, "cannot start the sampler thread");
        return NULL;
    }
    started = 1;
    Py_RETURN_NONE;
}

/* stop(): end the thread and wait for it (with the GIL released: it may be waiting) */
static PyObject *stop(PyObject *m, PyObject *unused)
{
    if (!started) Py_RETURN_NONE;
    pthread_mutex_lock(&lock);
    atomic_store(&running, 0);
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    Py_BEGIN_ALLOW_THREADS
    pthread_join(thread, NULL);
    Py_END_ALLOW_THREADS
    started = 0;
    Py_CLEAR(recorder);
    Py_CLEAR(on_memory);
    Py_CLEAR(now_list);
    Py_RETURN_NONE;
}

#include "native_sampler_queries.h"  /* pasted in by native_call.py's build */

static PyMethodDef methods[] = {
    {"start", start, METH_VARARGS,
     "start(thread_id, period_s, recorder, on_memory, t0, memory_every, is_main)."},
    {"stop", stop, METH_NOARGS, "Stop sampling and wait for the thread."},
    {"taken", taken, METH_NOARGS, "The samples so far; empties the buffers."},
    {"available", available, METH_NOARGS, "Whether this build can read the frames."},
    {"pace", pace, METH_O, "The addresses of longs to bump once per sample (() for none)."},
    {"costs", costs, METH_NOARGS, "The main thread's ns in each pending call's sample."},
    {"counts", counts, METH_NOARGS,
     "(wake-ups, samples by pending call, by the thread, thread CPU s, call s)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pxos_native_sampler", "pxos's host sampler thread.", -1, methods,
};

PyMODINIT_FUNC PyInit_pxos_native_sampler(void)
{
    s_current = PyUnicode_InternFromString("current");
    s_interrupt = PyUnicode_InternFromString("pxos.host.interrupt");
    s_now = PyUnicode_InternFromString("_now");
    if (s_current == NULL || s_interrupt == NULL || s_now == NULL) return NULL;
    pthread_condattr_t clock;  /* the deadlines are CLOCK_MONOTONIC times */
    if (pthread_condattr_init(&clock) || pthread_condattr_setclock(&clock, CLOCK_MONOTONIC)
        || pthread_cond_init(&wake, &clock)) {
        PyErr_SetString(PyExc_RuntimeError, "cannot make the sampler's condition variable");
        return NULL;
    }
    pthread_condattr_destroy(&clock);
    return PyModule_Create(&module);
}
