/* The profiler's launch record (lib/profile, events.LAUNCHES): while record_launches(True)
 * is on, each launch that ran appends (launcher, start, end, code, lasti) to a buffer in
 * C: the clock before and after the entry (CLOCK_MONOTONIC, Python's perf_counter clock,
 * in nanoseconds) and the code object and instruction offset of the Python frame that
 * called the caller of the launcher (the user's line, as sys._getframe(1) in the caller).
 * recorded_launches() hands the records over as tuples (seconds as perf_counter gives
 * them) and empties the buffer. Two clock readings and a store cost tens of nanoseconds
 * where the same record made in Python cost half a microsecond. On x86-64 where Linux
 * keeps its clock on the TSC (an invariant counter, the kernel's clocksource "tsc"), a
 * launch reads the TSC (about 12 ns, against 33 ns for clock_gettime on the machine this
 * was measured on), and recorded_launches() maps the readings to CLOCK_MONOTONIC through
 * two (TSC, clock) pairs: one taken when recording starts, one when the records are
 * handed over (each the closest of a few tries, so a preemption between the two reads
 * does not skew it).
 *
 * Timed in part (issue 20): on the H200 host the two clock readings were most of a
 * profiled launch's cost on c (33 ns over 218 ns). Where the profile's C sampler paces the
 * record (pace(True); it bumps `epoch`, whose address epoch_address() gives, once per
 * sample, under the GIL), a launcher reads the clock for its first CLOCKED_FIRST launches
 * of a recording session, for a launch more than a period after its last or after a long
 * one, and for one launch in CLOCKED_ONE_IN at random (clock_this; the device launcher:
 * for the launches it times by CUDA events); the others are recorded without a reading
 * (their line and order only), and recorded_launches() places them evenly between the
 * known moments around them (zero length, `timed` False: lib/profile gives them their
 * kernel's timed mean). Unpaced, every launch reads the clock.
 *
 * Included by native_call.c (host/native_call.py pastes it in before building: the
 * helper is built from one source text, which is also its cache key) and by
 * native_device_call.c, which defines RECORD_DEVICE_EVENTS: its records also hold the
 * launch's stream and the two CUDA events recorded on it right before and after
 * cuLaunchKernel (recorded_launches() then gives 8-tuples, the handles as integers, 0 for
 * none).
 */
#ifndef PXOS_NATIVE_RECORD_H
#define PXOS_NATIVE_RECORD_H
#include <time.h>
#include <stdio.h>
#include <string.h>
#if defined(__x86_64__) && defined(__linux__)
#include <x86intrin.h>
#define TSC_TICKS 1
#endif
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030D0000 && !defined(PYPY_VERSION)
#define FRAMES_INSIDE 1  /* the interpreter's frames read as Cython and greenlet read them */
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#include "internal/pycore_frame.h"
#endif

/* the record */
typedef struct {
    PyObject *launcher, *code;  /* owned references; code may be NULL */
    int64_t start, end;         /* ticks(): CLOCK_MONOTONIC ns, or the TSC (tsc_ticks) */
    int lasti, timed;           /* timed 0: no clock read (placed by recorded_launches) */
#ifdef RECORD_DEVICE_EVENTS
    void *stream, *events[2];   /* CUstream, CUevent before and after the kernel */
#endif
} Record;
static Record *records;
static Py_ssize_t nrecords, crecords;
static int recording;
static long record_serial;  /* recording sessions started (a launcher's counts reset) */
static long epoch;          /* sampler periods, bumped by native_sampler.c while paced */
static int paced;           /* 1: read the clock for some launches only (clock_this) */
static int64_t last_known;  /* ticks of the last moment known before the unread records */
static int64_t stopped;     /* ticks when recording last stopped */

#define CLOCKED_FIRST 2  /* a launcher's first launches of a recording session: all read */
#define CLOCKED_ONE_IN 32  /* then a launch at random, one in this many (a power of two) */
static uint64_t chance = 0x9E3779B97F4A7C15ULL;  /* xorshift64's state (Marsaglia 2003) */

#define LONG_TICKS 8000  /* a launch this long or longer: the next is timed (3-8 us) */

typedef struct {  /* a launcher's readings (clock_this) */
    long serial, count, epoch;
    int64_t length;  /* ticks of its last timed launch */
} Pace;

static int64_t now_ns(void)
{
    struct timespec t;
#ifdef __APPLE__
    clock_gettime(CLOCK_UPTIME_RAW, &t);  /* Python's perf_counter clock on macOS */
#else
    clock_gettime(CLOCK_MONOTONIC, &t);   /* and on Linux */
#endif
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int tsc_ticks = -1;  /* 1: ticks() reads the TSC; -1: not known yet */
static int64_t pair_ticks, pair_ns;  /* the (TSC, clock) pair of the recording's start */

/* the launch clock: the TSC where Linux's clocksource is it, else now_ns() */
static inline int64_t ticks(void)
{
#ifdef TSC_TICKS
    if (tsc_ticks == 1) return (int64_t)__rdtsc();
#endif
    return now_ns();
}

/* a (ticks, ns) pair read as close together as a few tries allow */
static void tick_pair(int64_t *at, int64_t *ns)
{
    int64_t best = -1;
    for (int i = 0; i < 5; i++) {
        int64_t a = ticks(), n = now_ns(), b = ticks();
        if (best < 0 || b - a < best) {
            best = b - a;
            *at = a + (b - a) / 2;
            *ns = n;
        }
    }
}

/* whether the kernel keeps CLOCK_MONOTONIC on the TSC (then the TSC is invariant and
   synchronised across cores: the kernel checked it) */
static int clock_is_tsc(void)
{
#ifdef TSC_TICKS
    char name[32] = {0};
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (f == NULL) return 0;
    size_t n = fread(name, 1, sizeof(name) - 1, f);
    fclose(f);
    return n >= 3 && strncmp(name, "tsc", 3) == 0 && (name[3] == '\n' || name[3] == 0);
#else
    return 0;
#endif
}

/* the code object (a new reference, or NULL) and instruction offset (bytes) of the
   Python frame `back` frames above the running one: 1, the frame that called the
   launcher's caller (sys._getframe(1) in the caller); 0, the running frame itself (a
   launch from C called by the user's line: host/pykernel's native Kernel call) */
static PyObject *caller_code_at(int *lasti, int back)
{
    *lasti = -1;
#ifdef FRAMES_INSIDE
    /* CPython 3.11 and 3.12: without making frame objects (PyEval_GetFrame makes one of
       the caller's frame at every launch, about 100 ns) */
    _PyInterpreterFrame *f = PyThreadState_GET()->cframe->current_frame;
    while (f != NULL && _PyFrame_IsIncomplete(f)) f = f->previous;
    for (; back > 0 && f != NULL; back--) {
        f = f->previous;
        while (f != NULL && _PyFrame_IsIncomplete(f)) f = f->previous;
    }
    if (f == NULL) return NULL;
    *lasti = _PyInterpreterFrame_LASTI(f) * (int)sizeof(_Py_CODEUNIT);
    Py_INCREF(f->f_code);
    return (PyObject *)f->f_code;
#else
    PyFrameObject *frame = PyEval_GetFrame();  /* borrowed */
    if (frame == NULL) return NULL;
    Py_INCREF(frame);
    for (; back > 0 && frame != NULL; back--) {
        PyFrameObject *up = PyFrame_GetBack(frame);
        Py_DECREF(frame);
        frame = up;
    }
    if (frame == NULL) return NULL;
    PyObject *code = (PyObject *)PyFrame_GetCode(frame);
    *lasti = PyFrame_GetLasti(frame);
    Py_DECREF(frame);
    return code;
#endif
}

/* whether this launch of a launcher (its Pace) reads the clock: every launch unless paced;
   paced, its first CLOCKED_FIRST of the recording session, a launch more than a sampler
   period after its last one or after a timed launch of LONG_TICKS or more (launches
   apart or long are all timed: two readings are nothing to them), and else one in
   CLOCKED_ONE_IN at random (xorshift64). Not the launch right after each sample: the
   sample's work leaves the caches cold for it, and timing only those made a tight loop's
   kernel mean 1.5-2.5x its true mean on the 2-core VM; chosen at random, the timed ones
   are a fair sample */
static inline int clock_this(Pace *p)
{
    if (!paced) return 1;
    if (p->serial != record_serial) {
        p->serial = record_serial;
        p->count = p->length = 0;
        p->epoch = epoch;
    }
    int slow = epoch - p->epoch > 1 || p->length >= LONG_TICKS;
    p->epoch = epoch;
    chance ^= chance << 13;
    chance ^= chance >> 7;
    chance ^= chance << 17;
    return p->count++ < CLOCKED_FIRST || slow || (chance & (CLOCKED_ONE_IN - 1)) == 0;
}

/* append one launch to the record (with the GIL held), named after the frame `back`
   frames up (caller_code_at), and return it (NULL: not recorded); start 0: a launch not
   timed (no clock read, placed later); a full buffer doubles, and where memory runs out
   the record stops growing (the launch goes unrecorded) */
static Record *record_launch_from(PyObject *launcher, int64_t start, int back)
{
    int64_t end = start ? ticks() : 0;
    if (!recording) return NULL;
    if (nrecords == crecords) {
        Py_ssize_t want = crecords ? 2 * crecords : 4096;
        Record *grown = PyMem_Realloc(records, want * sizeof(Record));
        if (grown == NULL) return NULL;
        records = grown;
        crecords = want;
    }
    Record *r = &records[nrecords++];
    Py_INCREF(launcher);
    r->launcher = launcher;
    r->code = caller_code_at(&r->lasti, back);
    r->start = start;
    r->end = end;
    r->timed = start != 0;
#ifdef RECORD_DEVICE_EVENTS
    r->stream = r->events[0] = r->events[1] = NULL;
#endif
    return r;
}

#define RESERVED_RECORDS 65536  /* made and touched when recording starts (2.5-3.5 MB) */

/* record_launches(on): start (True) or stop (False) recording launches. Starting makes
   the buffer for RESERVED_RECORDS launches and touches its pages, so that the first
   65,536 launches of a profile fault no page in (growing the buffer as launches came
   cost a page fault per hundred records, tens of nanoseconds a launch on a VM) */
static PyObject *record_launches(PyObject *m, PyObject *on)
{
    int v = PyObject_IsTrue(on);
    if (v < 0) return NULL;
    if (v && tsc_ticks < 0) tsc_ticks = clock_is_tsc();
    if (v && !recording && nrecords == 0) {
        tick_pair(&pair_ticks, &pair_ns);
        last_known = pair_ticks;
    }
    if (v && !recording) record_serial++;
    if (v && crecords < RESERVED_RECORDS) {
        Record *made = PyMem_Realloc(records, RESERVED_RECORDS * sizeof(Record));
        if (made != NULL) {
            memset(made + nrecords, 0, (RESERVED_RECORDS - nrecords) * sizeof(Record));
            records = made;
            crecords = RESERVED_RECORDS;
        }
    }
    if (!v && recording) stopped = ticks();
    recording = v;
    Py_RETURN_NONE;
}

/* give the records not timed their moments: each run of them evenly between the known
   moments around it (the end of the timed record before, or the last hand-over; the start
   of the timed record after, or the moment recording stopped, or `at`, this hand-over,
   while it records) */
static void place_untimed(int64_t at)
{
    int64_t known = last_known, last = recording ? at : stopped;
    for (Py_ssize_t i = 0; i < nrecords; i++) {
        if (records[i].timed) {
            known = records[i].end;
            continue;
        }
        Py_ssize_t j = i;
        while (j < nrecords && !records[j].timed) j++;
        int64_t next = j < nrecords ? records[j].start : last > known ? last : known;
        double step = (double)(next - known) / (double)(j - i + 1);
        for (Py_ssize_t k = i; k < j; k++)
            records[k].start = records[k].end
                = known + (int64_t)(step * (double)(k - i + 1));
        i = j - 1;
    }
    last_known = at;
}

/* pace(on): read the clock for some launches only (True: the profile's C sampler bumps
   the epoch once a period) or for every launch (False) */
static PyObject *pace(PyObject *m, PyObject *on)
{
    int v = PyObject_IsTrue(on);
    if (v < 0) return NULL;
    paced = v;
    Py_RETURN_NONE;
}

/* epoch_address(): where the epoch is (an int), for the sampler to bump it */
static PyObject *epoch_address(PyObject *m, PyObject *unused)
{
    return PyLong_FromVoidPtr((void *)&epoch);
}

/* recorded_launches(): the records so far as a list of (launcher, start_s, end_s, code or
   None, lasti, timed) tuples, and an empty buffer (freed when not recording) */
static PyObject *recorded_launches(PyObject *m, PyObject *unused)
{
    PyObject *out = PyList_New(nrecords);
    if (out == NULL) return NULL;
    int64_t at, ns;  /* ticks to seconds: the line through the two pairs */
    tick_pair(&at, &ns);
    place_untimed(at);
    double scale = at > pair_ticks ? (double)(ns - pair_ns) / (double)(at - pair_ticks) : 1.0;
#define SECONDS(t) (((double)pair_ns + (double)((t) - pair_ticks) * scale) / 1e9)
    for (Py_ssize_t i = 0; i < nrecords; i++) {
        Record *r = &records[i];
#ifdef RECORD_DEVICE_EVENTS
        PyObject *t = Py_BuildValue("(NddNiKKK)", r->launcher, SECONDS(r->start),
                                    SECONDS(r->end),
                                    r->code ? r->code : Py_NewRef(Py_None), r->lasti,
                                    (unsigned long long)(uintptr_t)r->stream,
                                    (unsigned long long)(uintptr_t)r->events[0],
                                    (unsigned long long)(uintptr_t)r->events[1]);
#else
        PyObject *t = Py_BuildValue("(NddNiN)", r->launcher, SECONDS(r->start),
                                    SECONDS(r->end),
                                    r->code ? r->code : Py_NewRef(Py_None), r->lasti,
                                    PyBool_FromLong(r->timed));
#endif
        if (t == NULL) {  /* the references of records i.. are lost with the buffer */
            nrecords = 0;
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, t);
    }
    nrecords = 0;
    if (!recording) {  /* the profile ended: its buffer goes */
        PyMem_Free(records);
        records = NULL;
        crecords = 0;
    }
#undef SECONDS
    return out;
}

#endif
