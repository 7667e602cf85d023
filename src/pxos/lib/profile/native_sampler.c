/* pxos's host sampler thread in C (lib/profile/native_sampler.py describes it).
 *
 * A POSIX thread wakes every period (a condition variable's timed wait, which stop() ends
 * at once). Where the sampled thread is Python's main thread, it asks that thread to
 * sample itself (Py_AddPendingCall: the interpreter runs the call between two bytecodes,
 * with the GIL it already holds, so the GIL changes hands not at all) and waits up to
 * GRACE_NS for the answer; where no answer comes (the thread is in a call that released
 * the GIL, or a long C call), or for another thread, it takes the GIL itself with the
 * thread state it made once. A sample copies the stack as it is: per frame the code object
 * (a new reference) and instruction offset in bytes (what frame.f_lasti gives), read from
 * the interpreter's frames as Cython and greenlet read them, without making frame objects;
 * plus the recorder's ``current`` attribute and the `.px` statement running
 * (``pxos.host.interrupt.current()``, once that module is loaded). Nothing is named while
 * the program runs: taken() hands the raw samples over after stop(). A sample holds the GIL
 * about a microsecond, where the Python sampler held it for several (sys._current_frames
 * makes a frame object per frame, and the loop runs a dozen lines of Python) and made the
 * sampled thread wait for it twice per sample.
 *
 * CPython 3.11 and 3.12 only (the interpreter's frame layout); available() says whether
 * this build has it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030D0000 && !defined(PYPY_VERSION)
#define FRAMES_INSIDE 1
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#include <internal/pycore_frame.h>  /* with -I Python's include folder */
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
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
static int running, started, main_target;
static intptr_t pending, answered;  /* the period whose pending call may sample; answered */
static int64_t grace_ns;  /* how long the thread waits for the pending call to answer */
static long count;
static unsigned long target;
static int64_t period_ns;
static long memory_every;
static PyObject *recorder, *on_memory, *s_current, *s_interrupt;
#define GRACE_NS 20000  /* 20 µs: a thread running Python answers in a few */
static double t0;

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
    PyObject *interrupt = PyImport_GetModule(s_interrupt);  /* NULL: not loaded */
    s->stmt = interrupt ? PyObject_CallMethod(interrupt, "current", NULL) : NULL;
    Py_XDECREF(interrupt);
    if (s->stmt == NULL) { PyErr_Clear(); s->stmt = Py_NewRef(Py_None); }
#endif
}

/* the sample of a period (GIL held): the stack, and the memory gauges every memory_every */
static void sample_now(int64_t t)
{
    take_sample(t);
    if (on_memory != Py_None && ++count % memory_every == 0) {
        PyObject *r = PyObject_CallFunction(on_memory, "d", (double)t / 1e9 - t0);
        if (r == NULL) PyErr_WriteUnraisable(on_memory);
        Py_XDECREF(r);
    }
}

/* a pending call (Py_AddPendingCall): run by the main thread itself between two bytecodes,
   with the GIL it holds already; samples unless the sampler thread took this period's
   sample meanwhile (asked is the period's number) */
static int sample_pending(void *asked)
{
    pthread_mutex_lock(&lock);
    int mine = running && pending == (intptr_t)asked;
    if (mine) pending = 0;
    pthread_mutex_unlock(&lock);
    if (!mine) return 0;
    PyObject *type, *value, *trace;
    PyErr_Fetch(&type, &value, &trace);
    sample_now(now_ns());
    PyErr_Restore(type, value, trace);
    pthread_mutex_lock(&lock);
    answered = (intptr_t)asked;
    pthread_cond_signal(&done);
    pthread_mutex_unlock(&lock);
    return 0;
}

/* wait until the clock `until` (CLOCK_REALTIME, the condition variables' clock) ns from
   now, or a signal of cond (lock held) */
static void wait_for(pthread_cond_t *cond, int64_t ns)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    ns += until.tv_nsec;
    until.tv_sec += ns / 1000000000LL;
    until.tv_nsec = ns % 1000000000LL;
    pthread_cond_timedwait(cond, &lock, &until);
}

static void *loop(void *unused)
{
    PyGILState_STATE gil = PyGILState_Ensure();  /* this thread's state, made once */
    PyThreadState *mine = PyEval_SaveThread();
    intptr_t period = 0;
    pthread_mutex_lock(&lock);
    while (running) {
        wait_for(&wake, period_ns);
        if (!running) break;
        if (main_target) {  /* ask the main thread to sample itself: no hand-over */
            pending = ++period;
            pthread_mutex_unlock(&lock);
            int asked = Py_AddPendingCall(sample_pending, (void *)period) == 0;
            pthread_mutex_lock(&lock);
            if (asked && answered != period && running) wait_for(&done, grace_ns);
            if (answered == period || !running) continue;
            pending = 0;  /* not answered in time (a call without the GIL, or a long one) */
        }
        pthread_mutex_unlock(&lock);
        PyEval_RestoreThread(mine);
        sample_now(now_ns());
        mine = PyEval_SaveThread();
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
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
    grace_ns = period_ns / 4 < GRACE_NS ? period_ns / 4 : GRACE_NS;
    pending = answered = 0;
    count = 0;
    if (memory_every < 1) memory_every = 1;
    recorder = Py_NewRef(rec);
    on_memory = Py_NewRef(memory);
    running = 1;
    if (pthread_create(&thread, NULL, loop, NULL) != 0) {
        running = 0;
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
    running = 0;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    Py_BEGIN_ALLOW_THREADS
    pthread_join(thread, NULL);
    Py_END_ALLOW_THREADS
    started = 0;
    Py_CLEAR(recorder);
    Py_CLEAR(on_memory);
    Py_RETURN_NONE;
}

/* taken(): the samples as (t_s, ((code, lasti), ...) innermost first, current, stmt),
   and empty buffers */
static PyObject *taken(PyObject *m, PyObject *unused)
{
    PyObject *out = PyList_New(nsamples);
    for (Py_ssize_t i = 0; out != NULL && i < nsamples; i++) {
        Sample *s = &samples[i];
        PyObject *stack = PyTuple_New(s->depth);
        for (Py_ssize_t k = 0; stack != NULL && k < s->depth; k++) {
            Py_ssize_t j = s->first + k;
            PyObject *frame = Py_BuildValue("(Oi)", codes[j], lastis[j]);
            if (frame == NULL) Py_CLEAR(stack); else PyTuple_SET_ITEM(stack, k, frame);
        }
        PyObject *item = stack ? Py_BuildValue("(dNOO)", (double)s->t / 1e9, stack,
                                               s->current, s->stmt) : NULL;
        if (item == NULL) Py_CLEAR(out); else PyList_SET_ITEM(out, i, item);
    }
    for (Py_ssize_t i = 0; i < nsamples; i++) {
        Py_DECREF(samples[i].current);
        Py_DECREF(samples[i].stmt);
    }
    for (Py_ssize_t j = 0; j < nframes; j++) Py_DECREF(codes[j]);
    nsamples = nframes = 0;
    return out;
}

static PyObject *available(PyObject *m, PyObject *unused)
{
#ifdef FRAMES_INSIDE
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}

static PyMethodDef methods[] = {
    {"start", start, METH_VARARGS,
     "start(thread_id, period_s, recorder, on_memory, t0, memory_every, is_main)."},
    {"stop", stop, METH_NOARGS, "Stop sampling and wait for the thread."},
    {"taken", taken, METH_NOARGS, "The samples so far; empties the buffers."},
    {"available", available, METH_NOARGS, "Whether this build can read the frames."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pxos_native_sampler", "pxos's host sampler thread.", -1, methods,
};

PyMODINIT_FUNC PyInit_pxos_native_sampler(void)
{
    s_current = PyUnicode_InternFromString("current");
    s_interrupt = PyUnicode_InternFromString("pxos.host.interrupt");
    if (s_current == NULL || s_interrupt == NULL) return NULL;
    return PyModule_Create(&module);
}
