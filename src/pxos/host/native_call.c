/* pxos's native call helper: a C kernel launched from a tuple of Python arguments.
 *
 * A Launcher holds one call signature of one compiled C kernel (host/native_call.py
 * describes it: parameter kinds, NumPy type numbers, ranks, which arrays the kernel
 * writes, how the thread counts follow from the arguments). Calling it with the argument
 * tuple packs the words of the kernel's packed entry (codegen/c_packed.py), checks what
 * the Python path checks, and calls the entry (with the GIL released, unless the launch
 * has fewer than SMALL_LAUNCH threads). Where the sizes, thread counts or scalars differ
 * from the last launch checked, it first calls the launch check check(args, threads)
 * (ir/analysis/bounds), whose error propagates; with check None it does not take such
 * a launch. It returns
 *   0  launched;
 *   1  not taken: an argument of another kind, dtype, rank or layout, a value to convert
 *      with NumPy's rules, overlapping arrays, a launch too large, new sizes without a
 *      check; nothing ran;
 *   2  launched, and the kernel faulted (the guard's flag is set; the caller raises).
 * validate(args) records the sizes and scalars of a launch the caller checked itself.
 *
 * The profiler's launch record is native_record.h's (included).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <numpy/arrayscalars.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "native_record.h"  /* pasted in by native_call.py's build */
#include "native_pack.h"

enum { LAUNCHED = 0, NOT_TAKEN = 1, FAULTED = 2 };  /* as native_call.py's */

/* one launch of these arguments: -1 an error (the launch check's), else LAUNCHED,
   NOT_TAKEN or FAULTED; the record names the Python frame `back` frames up */
static int launch(Launcher *self, PyObject *args, int back)
{
    int64_t w[MAX_WORDS];
    if (pack(self, args, w)) return NOT_TAKEN;
    if (!self->has_valid || differs(self, w)) {
        if (self->check == Py_None) return NOT_TAKEN;
        PyObject *threads = PyTuple_New(self->naxes);
        if (threads == NULL) return -1;
        for (int a = 0; a < self->naxes; a++)
            PyTuple_SET_ITEM(threads, a, PyLong_FromLongLong(w[a]));
        PyObject *r = PyObject_CallFunctionObjArgs(self->check, args, threads, NULL);
        Py_DECREF(threads);
        if (r == NULL) return -1;  /* the launch check refused it: its PxBoundsError */
        Py_DECREF(r);
        memcpy(self->valid, w, sizeof(int64_t) * self->nwords);
        self->has_valid = 1;
    }
    int64_t start = recording && clock_this(&self->pace) ? ticks() : 0;
    if (w[0] * w[1] * w[2] < SMALL_LAUNCH) {
        self->entry(w);  /* microseconds: releasing the GIL would cost a tenth of it */
    } else {
        Py_BEGIN_ALLOW_THREADS
        self->entry(w);
        Py_END_ALLOW_THREADS
    }
    if (*self->fault) return FAULTED;
    Record *r = recording ? record_launch_from((PyObject *)self, start, back) : NULL;
    if (r != NULL && start) self->pace.length = r->end - r->start;
    return LAUNCHED;
}

static PyObject *Launcher_call(Launcher *self, PyObject *argv, PyObject *kw)
{
    if (kw != NULL || PyTuple_GET_SIZE(argv) != 1) {
        PyErr_SetString(PyExc_TypeError, "a Launcher takes one tuple of arguments");
        return NULL;
    }
    int r = launch(self, PyTuple_GET_ITEM(argv, 0), 1);
    return r < 0 ? NULL : PyLong_FromLong(r);
}

static PyObject *Launcher_validate(Launcher *self, PyObject *args)
{
    int64_t w[MAX_WORDS];
    if (pack(self, args, w)) Py_RETURN_FALSE;
    memcpy(self->valid, w, sizeof(int64_t) * self->nwords);
    self->has_valid = 1;
    Py_RETURN_TRUE;
}

static int Launcher_init(Launcher *self, PyObject *args, PyObject *kw)
{
    unsigned long long entry, fault;
    PyObject *params, *threads, *check;
    if (!PyArg_ParseTuple(args, "KKO!O!O", &entry, &fault, &PyTuple_Type, &params,
                          &PyTuple_Type, &threads, &check))
        return -1;
    Py_INCREF(check);
    Py_XSETREF(self->check, check);
    Py_ssize_t np = PyTuple_GET_SIZE(params), na = PyTuple_GET_SIZE(threads);
    if (np > MAX_PARAMS || na > 3) {
        PyErr_SetString(PyExc_ValueError, "too many parameters or axes");
        return -1;
    }
    self->entry = (void (*)(const int64_t *))(uintptr_t)entry;
    self->fault = (volatile int *)(uintptr_t)fault;
    self->nparams = (int)np;
    self->naxes = (int)na;
    self->has_valid = 0;
    int word = 3;
    memset(self->pointer, 0, sizeof(self->pointer));
    for (Py_ssize_t i = 0; i < np; i++) {
        Param *p = &self->params[i];
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(params, i), "iiiii", &p->kind,
                              &p->typenum, &p->ndim, &p->writes, &p->bits))
            return -1;
        p->word = word;
        p->scalar = NULL;
        if (p->kind != P_ARRAY) {
            PyArray_Descr *d = PyArray_DescrFromType(p->typenum);
            if (d == NULL) return -1;
            p->scalar = d->typeobj;  /* NumPy's static type object */
            Py_DECREF(d);
        }
        if (p->kind == P_ARRAY) self->pointer[word] = 1;
        word += p->kind == P_ARRAY ? 1 + p->ndim : 1;
    }
    for (Py_ssize_t a = 0; a < na; a++)
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(threads, a), "iii", &self->taxis[a][0],
                              &self->taxis[a][1], &self->taxis[a][2]))
            return -1;
    self->nwords = word;
    return 0;
}

static void Launcher_dealloc(Launcher *self)
{
    Py_XDECREF(self->check);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* note(serial): the launch log with this serial noted the launcher's plan (watched()) */
static PyObject *Launcher_note(Launcher *self, PyObject *serial)
{
    long v = PyLong_AsLong(serial);
    if (v == -1 && PyErr_Occurred()) return NULL;
    self->noted = v;
    Py_RETURN_NONE;
}

static PyMethodDef Launcher_methods[] = {
    {"note", (PyCFunction)Launcher_note, METH_O,
     "The serial of the launch log that noted this launcher's plan."},
    {"validate", (PyCFunction)Launcher_validate, METH_O,
     "Record the sizes and scalars of a launch the Python path checked."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LauncherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pxos_native_call.Launcher",
    .tp_basicsize = sizeof(Launcher),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One call signature of one C kernel (host/native_call.py).",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)Launcher_dealloc,
    .tp_init = (initproc)Launcher_init,
    .tp_call = (ternaryfunc)Launcher_call,
    .tp_methods = Launcher_methods,
};

/* -- host/pykernel's Kernel calls in C
 * A Kernel whose call signature went native becomes an instance of a subclass of Kernel
 * and Dispatch (its __class__ is set; Dispatch adds no field, so the layouts agree). Its
 * call looks up the launcher of the call's device= in the Kernel's _native dictionary
 * (device -> (launcher, plan)) and launches (recorded, under a profile whose launch log
 * noted the plan: the record names the user's line, and the profile's sampler gives a
 * sample during the launch the kernel's frame from the record's time). Where that
 * launcher does not take the call, the Kernel's last prepared device call does, with no
 * listener or under a profile whose launch log noted it (device_call: CuPy arrays). A
 * call with other keywords, one a listener would miss (pxos.events: a listener, unless a
 * profile's launch log noted the plan), or one neither launcher takes goes to
 * Kernel._call, the Python path, which gives every error as before; a fault goes to
 * Kernel._native_fault(plan), which raises. */
static PyObject *events;  /* pxos.events's dictionary: LISTENERS, LAUNCHES */
static PyObject *s_native, *s_device, *s_call, *s_fault, *s_profiled, *s_listeners,
    *s_launches, *s_device_native, *s_decision;

enum { QUIET = 1, PROFILED = 2 };

static long log_serial;  /* the serial of the launch log recording now; 0: none (watch_log) */

/* how a native launch of launcher is seen as it should be: QUIET (no listener), PROFILED
   (the launch log recording now, events.LAUNCHES, noted its plan: the serials agree, a
   test of two integers where reading the plan's attribute cost about 10 ns a launch); 0:
   the Python path must serve it; -1: an error */
static int watched(Launcher *launcher)
{
    PyObject *listeners = events ? PyDict_GetItemWithError(events, s_listeners) : NULL;
    if (listeners == NULL) return PyErr_Occurred() ? -1 : 0;
    int busy = PyObject_IsTrue(listeners);
    if (busy <= 0) return busy < 0 ? -1 : QUIET;
    if (log_serial != 0 && PyList_CheckExact(listeners) && PyList_GET_SIZE(listeners) == 1)
        /* a launch log records (its profile's recorder is then the one listener, and
           events.LAUNCHES is that log: no look-up of it needed) */
        return launcher->noted == log_serial ? PROFILED : 0;
    PyObject *log = PyDict_GetItemWithError(events, s_launches);
    if (log == NULL || log == Py_None) return PyErr_Occurred() ? -1 : 0;
    return log_serial != 0 && launcher->noted == log_serial ? PROFILED : 0;
}

/* watch_log(serial): the serial of the launch log that records now (0: none) */
static PyObject *watch_log(PyObject *m, PyObject *serial)
{
    long v = PyLong_AsLong(serial);
    if (v == -1 && PyErr_Occurred()) return NULL;
    log_serial = v;
    Py_RETURN_NONE;
}

/* the (launcher, plan) entry of device (a new reference), or NULL (an error, or none) */
static PyObject *native_entry(PyObject *self, PyObject *device)
{
    if (device != Py_None && !PyUnicode_CheckExact(device)) return NULL;
    PyObject *table = PyObject_GetAttr(self, s_native);
    if (table == NULL) return NULL;
    PyObject *entry = PyDict_CheckExact(table) ? PyDict_GetItemWithError(table, device)
                                               : NULL;
    if (entry != NULL && (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 2
                          || !PyObject_TypeCheck(PyTuple_GET_ITEM(entry, 0),
                                                 &LauncherType)))
        entry = NULL;
    Py_XINCREF(entry);
    Py_DECREF(table);
    return entry;
}

/* the serial of the launch log recording now where it takes native launches
   (events.LAUNCHES is set: a profile, whose recorder is a listener), 0 where a listener
   must see the call, -1 an error */
static long profiling_log(void)
{
    if (log_serial == 0) return 0;
    PyObject *log = PyDict_GetItemWithError(events, s_launches);
    if (log == NULL) return PyErr_Occurred() ? -1 : 0;
    return log == Py_None ? 0 : log_serial;
}

/* a call on device arrays through the Kernel's last prepared device call
   (host/pykernel's _device_native[device] = (launcher, decision, …): a
   host/native_device_call DeviceLauncher, which returns 0 launched or 1 not taken), with
   no listener, or under a profile whose launch log records native launches: then the
   launcher is called with the log's serial as well, takes the call only if that log
   noted it (else Kernel._call notes it first), and records it naming the running frame,
   the user's line; the decision becomes the Kernel's. LAUNCHED, NOT_TAKEN, or -1 an
   error. (In C, the call on CuPy arrays skips Kernel.__call__'s Python frame: issue 14,
   at most CuPy's RawKernel; and a profiled one, issue 20, its half microsecond.) */
static int device_call(PyObject *self, PyObject *device, PyObject *args)
{
    PyObject *listeners = events ? PyDict_GetItemWithError(events, s_listeners) : NULL;
    if (listeners == NULL) return PyErr_Occurred() ? -1 : NOT_TAKEN;
    int busy = PyObject_IsTrue(listeners);
    long serial = busy > 0 ? profiling_log() : 0;
    if (busy < 0 || serial < 0) return -1;
    if (busy && serial == 0) return NOT_TAKEN;
    PyObject *table = PyObject_GetAttr(self, s_device_native);
    if (table == NULL) return -1;
    PyObject *entry = PyDict_CheckExact(table) ? PyDict_GetItemWithError(table, device)
                                               : NULL;
    if (entry == NULL || !PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) < 2) {
        Py_DECREF(table);
        return PyErr_Occurred() ? -1 : NOT_TAKEN;
    }
    Py_INCREF(entry);
    Py_DECREF(table);
    PyObject *r;
    if (serial) {
        PyObject *number = PyLong_FromLong(serial);
        PyObject *stack[2] = {args, number};
        r = number ? PyObject_Vectorcall(PyTuple_GET_ITEM(entry, 0), stack, 2, NULL) : NULL;
        Py_XDECREF(number);
    } else {
        r = PyObject_CallOneArg(PyTuple_GET_ITEM(entry, 0), args);
    }
    int out = -1;
    if (r != NULL) {
        long v = PyLong_AsLong(r);
        Py_DECREF(r);
        if (v == LAUNCHED)
            out = PyObject_SetAttr(self, s_decision, PyTuple_GET_ITEM(entry, 1)) < 0
                ? -1 : LAUNCHED;
        else
            out = v == -1 && PyErr_Occurred() ? -1 : NOT_TAKEN;
    }
    Py_DECREF(entry);
    return out;
}

static PyObject *Dispatch_call(PyObject *self, PyObject *args, PyObject *kw)
{
    PyObject *device = Py_None;
    if (kw != NULL && PyDict_GET_SIZE(kw) != 0) {
        device = PyDict_GET_SIZE(kw) == 1 ? PyDict_GetItemWithError(kw, s_device) : NULL;
        if (device == NULL && PyErr_Occurred()) return NULL;
    }
    PyObject *entry = device ? native_entry(self, device) : NULL;
    if (entry == NULL && PyErr_Occurred()) return NULL;
    if (entry != NULL) {
        PyObject *plan = PyTuple_GET_ITEM(entry, 1);
        PyObject *launcher = PyTuple_GET_ITEM(entry, 0);
        int r = watched((Launcher *)launcher);
        r = r == QUIET || r == PROFILED ? launch((Launcher *)launcher, args, 0)
          : r < 0 ? -1 : NOT_TAKEN;
        PyObject *out = r == LAUNCHED ? Py_NewRef(Py_None)
                      : r == FAULTED ? PyObject_CallMethodOneArg(self, s_fault, plan)
                      : NULL;
        Py_DECREF(entry);
        if (r != NOT_TAKEN) return out;
    }
    if (device != NULL) {
        int r = device_call(self, device, args);
        if (r < 0) return NULL;
        if (r == LAUNCHED) Py_RETURN_NONE;
    }
    PyObject *call = PyObject_GetAttr(self, s_call);
    if (call == NULL) return NULL;
    PyObject *out = PyObject_Call(call, args, kw);
    Py_DECREF(call);
    return out;
}

static PyTypeObject DispatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pxos_native_call.Dispatch",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "The call of a host/pykernel Kernel whose signature went native.",
    .tp_call = Dispatch_call,
};

/* watch_events(dictionary): pxos.events's module dictionary, read at every Kernel call */
static PyObject *watch_events(PyObject *m, PyObject *dict)
{
    if (!PyDict_Check(dict)) {
        PyErr_SetString(PyExc_TypeError, "watch_events takes pxos.events's __dict__");
        return NULL;
    }
    Py_XSETREF(events, Py_NewRef(dict));
    Py_RETURN_NONE;
}

#include "native_loop.h"  /* repeat(): a host loop of RUN launches */

static PyMethodDef module_methods[] = {
    {"record_launches", record_launches, METH_O,
     "Start (True) or stop (False) recording launches (the profiler's launch record)."},
    {"watch_log", watch_log, METH_O,
     "The serial of the launch log recording now (0: none)."},
    {"watch_events", watch_events, METH_O,
     "Give pxos.events's __dict__ (read at every native Kernel call)."},
    {"repeat", repeat, METH_VARARGS,
     "Launch a host loop's RUN statements count times (native_loop.h)."},
    {"recorded_launches", recorded_launches, METH_NOARGS,
     "The launches recorded so far as (launcher, start_s, end_s, code, lasti, timed) "
     "tuples; empties the record."},
    {"pace", pace, METH_O,
     "Read the clock for some launches only (True: the sampler bumps the epoch) or all."},
    {"epoch_address", epoch_address, METH_NOARGS,
     "The address of the epoch the profile's C sampler bumps once a period."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pxos_native_call", "pxos's native call helper.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit_pxos_native_call(void)
{
    import_array();
    if (PyType_Ready(&LauncherType) < 0 || PyType_Ready(&DispatchType) < 0) return NULL;
    PyObject **names[] = {&s_native, &s_device, &s_call, &s_fault, &s_profiled,
                          &s_listeners, &s_launches, &s_device_native, &s_decision};
    const char *texts[] = {"_native", "device", "_call", "_native_fault", "profiled",
                           "LISTENERS", "LAUNCHES", "_device_native", "decision"};
    for (int i = 0; i < 9; i++)
        if ((*names[i] = PyUnicode_InternFromString(texts[i])) == NULL) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddObject(m, "Launcher", Py_NewRef(&LauncherType)) < 0
        || PyModule_AddObject(m, "Dispatch", Py_NewRef(&DispatchType)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
