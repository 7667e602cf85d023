/* pxos's native device call: a prepared CUDA launch taken from a tuple of Python arguments.
 *
 * A DeviceLauncher holds one prepared call of one compiled CUDA kernel
 * (host/native_device_call.py describes it): the kernel's parameter buffer packed once
 * (launch counts, extents, scalars), where each array's device pointer goes, and what each
 * argument must be for the packing to hold: an array of the same class, dtype object and
 * shape, C-contiguous; a scalar of the same class and value. Called with the argument
 * tuple, on the thread that made it, it checks those, writes each array's pointer
 * (a.data.ptr, as CuPy gives it) into the buffer, asks stream() for the stream, and calls
 * cuLaunchKernel (CUDA Driver API, "Execution Control"; it copies the parameter values
 * before it returns, so one buffer serves every call made with the GIL held). It returns
 *   0  launched;
 *   1  not taken: another thread, an argument that differs, an empty array, or the
 *      driver refused the launch; nothing ran, and the caller goes the Python way (which
 *      raises the driver's error, if any).
 *
 * While the profiler records (record_launches(True), native_record.h), a launch also
 * records a CUDA event on its stream right before cuLaunchKernel and one right after, so
 * that the kernel's device time has no host work in it (an event recorded earlier, while
 * the GPU idles, would count the host's launch path as kernel time), and appends the
 * launch with its stream and events to the record. The events come from a pool made with
 * cuEventCreate and refilled by spare_events() once the profiler has read them
 * (set_event_driver() gives the two driver functions). Unrecorded, the launch path is as
 * before but for one test of a flag.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <stdint.h>
#include <string.h>

#define RECORD_DEVICE_EVENTS 1
#include "native_record.h"  /* pasted in by native_call.py's build */

#define MAX_PARAMS 64
#define MAX_SLOTS (3 + MAX_PARAMS * 4)

typedef int (*LaunchKernel)(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                            unsigned by, unsigned bz, unsigned shared, void *stream,
                            void **params, void **extra);

typedef struct {
    PyObject *cls, *dtype, *shape;  /* an array's class, dtype and shape; dtype NULL: a scalar */
    PyObject *value;                /* a scalar's value */
    int slot;                       /* an array's pointer slot */
} Expect;

typedef struct {
    PyObject_HEAD
    LaunchKernel launch_kernel;
    void *function;
    unsigned sizes[6];
    PyObject *stream;  /* stream() -> the CUstream handle, an int */
    unsigned long thread;
    int nargs;
    Expect expect[MAX_PARAMS];
    uint64_t buffer[MAX_SLOTS];
    void *pointers[MAX_SLOTS];
    long serial, recorded;  /* launches recorded in recording session `serial` */
    long noted;             /* the serial of the launch log that noted it (note()) */
    long timed_epoch;       /* paced: the sampler's epoch at its last timed launch */
    int64_t timed_at;       /* now_ns() of the last launch timed by events */
} DeviceLauncher;

static PyObject *s_dtype, *s_shape, *s_c_contiguous, *s_data, *s_ptr;

#include "native_device_events.h"  /* pasted in by native_call.py's build */

/* an array argument's device pointer, 0 where it differs from what was prepared or is
   empty (the Python path passes a scratch pointer for those) */
static uint64_t array_pointer(const Expect *e, PyObject *a)
{
    if (Py_TYPE(a) != (PyTypeObject *)e->cls) return 0;
    /* the shape first: a kernel's launchers of other shapes, tried in turn by
       host/native_call's Dispatch, refuse an array with one attribute read */
    PyObject *shape = PyObject_GetAttr(a, s_shape);
    int same = shape ? PyObject_RichCompareBool(shape, e->shape, Py_EQ) : -1;
    Py_XDECREF(shape);
    if (same != 1) {
        PyErr_Clear();
        return 0;
    }
    uint64_t ptr = 0;
    PyObject *dtype = PyObject_GetAttr(a, s_dtype);
    PyObject *contiguous = dtype ? PyObject_GetAttr(a, s_c_contiguous) : NULL;
    PyObject *data = contiguous ? PyObject_GetAttr(a, s_data) : NULL;
    PyObject *p = data ? PyObject_GetAttr(data, s_ptr) : NULL;
    if (p != NULL && (dtype == e->dtype || PyObject_RichCompareBool(dtype, e->dtype, Py_EQ) == 1)
        && PyObject_IsTrue(contiguous) == 1) {
        ptr = PyLong_AsUnsignedLongLong(p);
        if (ptr == (uint64_t)-1 && PyErr_Occurred()) ptr = 0;
    }
    PyErr_Clear();
    Py_XDECREF(p);
    Py_XDECREF(data);
    Py_XDECREF(contiguous);
    Py_XDECREF(dtype);
    return ptr;
}

/* call(args) from Kernel.__call__ (a profiled launch's record names the frame that called
   it); call(args, serial) from host/native_call's Dispatch in C, under a profile whose
   launch log (that serial) noted this launcher: the record names the running frame, the
   user's line, and a launcher the log did not note does not take the call (the Python
   path notes it first) */
static PyObject *DeviceLauncher_call(DeviceLauncher *self, PyObject *args, PyObject *kw)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *given = n >= 1 ? PyTuple_GET_ITEM(args, 0) : NULL;
    if (kw != NULL || n < 1 || n > 2 || !PyTuple_Check(given)) {
        PyErr_SetString(PyExc_TypeError, "a DeviceLauncher takes a tuple of arguments "
                        "and, from C, a launch log's serial");
        return NULL;
    }
    int back = 1;
    if (n == 2) {
        long serial = PyLong_AsLong(PyTuple_GET_ITEM(args, 1));
        if (serial == -1 && PyErr_Occurred()) return NULL;
        if (!recording || serial != self->noted) return PyLong_FromLong(1);
        back = 0;
    }
    int64_t start = 0;
    int timed = recording ? timed_launch(self, &start) : 0;
    if (PyTuple_GET_SIZE(given) != self->nargs || PyThread_get_thread_ident() != self->thread)
        return PyLong_FromLong(1);
    for (int i = 0; i < self->nargs; i++) {
        const Expect *e = &self->expect[i];
        PyObject *a = PyTuple_GET_ITEM(given, i);
        if (e->dtype == NULL) {
            if (Py_TYPE(a) != (PyTypeObject *)e->cls) return PyLong_FromLong(1);
            int same = PyObject_RichCompareBool(a, e->value, Py_EQ);
            if (same != 1) { PyErr_Clear(); return PyLong_FromLong(1); }
            continue;
        }
        uint64_t ptr = array_pointer(e, a);
        if (ptr == 0) return PyLong_FromLong(1);
        self->buffer[e->slot] = ptr;
    }
    PyObject *s = PyObject_CallNoArgs(self->stream);
    if (s == NULL) return NULL;
    void *stream = PyLong_AsVoidPtr(s);
    Py_DECREF(s);
    if (stream == NULL && PyErr_Occurred()) return NULL;
    if (recording) {
        int status = launch_recorded(self, stream, start, timed, back);
        return PyLong_FromLong(status == 0 ? 0 : 1);
    }
    const unsigned *z = self->sizes;
    int status = self->launch_kernel(self->function, z[0], z[1], z[2], z[3], z[4], z[5], 0,
                                     stream, self->pointers, NULL);
    return PyLong_FromLong(status == 0 ? 0 : 1);
}

/* DeviceLauncher(launch_kernel, function, sizes, stream, template, expect):
   launch_kernel and function are addresses; sizes (gx, gy, gz, bx, by, bz); template the
   packed parameter buffer (bytes, 8 per slot); expect per argument (cls, dtype, shape,
   slot) for an array or (cls, None, value, -1) for a scalar. */
static int DeviceLauncher_init(DeviceLauncher *self, PyObject *args, PyObject *kw)
{
    unsigned long long launch_kernel, function;
    PyObject *sizes, *stream, *expect;
    Py_buffer template;
    if (!PyArg_ParseTuple(args, "KKO!Oy*O!", &launch_kernel, &function, &PyTuple_Type,
                          &sizes, &stream, &template, &PyTuple_Type, &expect))
        return -1;
    Py_ssize_t nslots = template.len / 8, nargs = PyTuple_GET_SIZE(expect);
    if (template.len % 8 || nslots > MAX_SLOTS || nargs > MAX_PARAMS
        || !PyArg_ParseTuple(sizes, "IIIIII", &self->sizes[0], &self->sizes[1],
                             &self->sizes[2], &self->sizes[3], &self->sizes[4],
                             &self->sizes[5])) {
        PyBuffer_Release(&template);
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "too many parameters");
        return -1;
    }
    memcpy(self->buffer, template.buf, template.len);
    PyBuffer_Release(&template);
    for (Py_ssize_t i = 0; i < nslots; i++) self->pointers[i] = &self->buffer[i];
    for (Py_ssize_t i = 0; i < nargs; i++) {
        Expect *e = &self->expect[i];
        PyObject *dtype, *third;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(expect, i), "OOOi", &e->cls, &dtype, &third,
                              &e->slot))
            return -1;
        if (!PyType_Check(e->cls) || e->slot >= nslots) {
            PyErr_SetString(PyExc_ValueError, "bad expectation");
            return -1;
        }
        Py_INCREF(e->cls);
        e->dtype = dtype == Py_None ? NULL : (Py_INCREF(dtype), dtype);
        Py_INCREF(third);
        if (e->dtype) e->shape = third; else e->value = third;
        self->nargs = (int)i + 1;
    }
    self->nargs = (int)nargs;
    self->launch_kernel = (LaunchKernel)(uintptr_t)launch_kernel;
    self->function = (void *)(uintptr_t)function;
    Py_INCREF(stream);
    self->stream = stream;
    self->thread = PyThread_get_thread_ident();
    return 0;
}

static void DeviceLauncher_dealloc(DeviceLauncher *self)
{
    for (int i = 0; i < self->nargs; i++) {
        Expect *e = &self->expect[i];
        Py_XDECREF(e->cls);
        Py_XDECREF(e->dtype);
        Py_XDECREF(e->shape);
        Py_XDECREF(e->value);
    }
    Py_XDECREF(self->stream);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* note(serial): the launch log with this serial noted the launcher (call(args, serial)) */
static PyObject *DeviceLauncher_note(DeviceLauncher *self, PyObject *serial)
{
    long v = PyLong_AsLong(serial);
    if (v == -1 && PyErr_Occurred()) return NULL;
    self->noted = v;
    Py_RETURN_NONE;
}

static PyMethodDef DeviceLauncher_methods[] = {
    {"note", (PyCFunction)DeviceLauncher_note, METH_O,
     "The serial of the launch log that noted this launcher."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DeviceLauncherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pxos_native_device_call.DeviceLauncher",
    .tp_basicsize = sizeof(DeviceLauncher),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One prepared call of one CUDA kernel (host/native_device_call.py).",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)DeviceLauncher_dealloc,
    .tp_init = (initproc)DeviceLauncher_init,
    .tp_call = (ternaryfunc)DeviceLauncher_call,
    .tp_methods = DeviceLauncher_methods,
};

/* set_event_driver(create, record): the addresses of cuEventCreate and cuEventRecord
   (0, 0: none); returns the previous pair */
static PyObject *set_event_driver(PyObject *m, PyObject *args)
{
    unsigned long long create, record;
    if (!PyArg_ParseTuple(args, "KK", &create, &record)) return NULL;
    PyObject *before = Py_BuildValue("(KK)", (unsigned long long)(uintptr_t)event_create,
                                     (unsigned long long)(uintptr_t)event_record);
    event_create = (EventCreate)(uintptr_t)create;
    event_record = (EventRecord)(uintptr_t)record;
    return before;
}

/* take_spare_events(): the pool's events as a list of handles, and an empty pool */
static PyObject *take_spare_events(PyObject *m, PyObject *unused)
{
    PyObject *out = PyList_New(nspare);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < nspare; i++) {
        PyObject *h = PyLong_FromVoidPtr(spare[i]);
        if (h == NULL) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, i, h);
    }
    nspare = 0;
    return out;
}

/* spare_events(handles): events the profiler has read, to record again */
static PyObject *spare_events(PyObject *m, PyObject *handles)
{
    PyObject *seq = PySequence_Fast(handles, "spare_events takes a sequence of handles");
    if (seq == NULL) return NULL;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        void *event = PyLong_AsVoidPtr(PySequence_Fast_GET_ITEM(seq, i));
        if (event == NULL && PyErr_Occurred()) { Py_DECREF(seq); return NULL; }
        give_event(event);
    }
    Py_DECREF(seq);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"record_launches", record_launches, METH_O,
     "Start (True) or stop (False) recording launches (the profiler's launch record)."},
    {"recorded_launches", recorded_launches, METH_NOARGS,
     "The launches recorded so far as (launcher, start_s, end_s, code, lasti, stream, "
     "start_event, end_event) tuples; empties the record."},
    {"set_event_driver", set_event_driver, METH_VARARGS,
     "set_event_driver(cuEventCreate address, cuEventRecord address)."},
    {"spare_events", spare_events, METH_O, "Give read events back to the pool."},
    {"pace", pace, METH_O,
     "Time some launches only, by the sampler's periods (True), or by the clock (False)."},
    {"epoch_address", epoch_address, METH_NOARGS,
     "The address of the epoch the profile's C sampler bumps once a period."},
    {"take_spare_events", take_spare_events, METH_NOARGS,
     "The pool's events (handles), and an empty pool."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pxos_native_device_call", "pxos's native device call.", -1,
    methods,
};

PyMODINIT_FUNC PyInit_pxos_native_device_call(void)
{
    s_dtype = PyUnicode_InternFromString("dtype");
    s_shape = PyUnicode_InternFromString("shape");
    s_c_contiguous = PyUnicode_InternFromString("_c_contiguous");
    s_data = PyUnicode_InternFromString("data");
    s_ptr = PyUnicode_InternFromString("ptr");
    if (!s_dtype || !s_shape || !s_c_contiguous || !s_data || !s_ptr) return NULL;
    if (PyType_Ready(&DeviceLauncherType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&DeviceLauncherType);
    if (PyModule_AddObject(m, "DeviceLauncher", (PyObject *)&DeviceLauncherType) < 0) {
        Py_DECREF(&DeviceLauncherType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
