/* pxos's native call helper: a C kernel launched from a tuple of Python arguments.
 *
 * A Launcher holds one call signature of one compiled C kernel (host/native_call.py
 * describes it: parameter kinds, NumPy type numbers, ranks, which arrays the kernel
 * writes, how the thread counts follow from the arguments). Calling it with the argument
 * tuple packs the words of the kernel's packed entry (codegen/c_packed.py), checks what
 * the Python path checks, and calls the entry (with the GIL released, unless the launch
 * has fewer than SMALL_LAUNCH threads). Where the sizes, thread counts or scalars differ
 * from those of the last `kept` launches checked (1 to MAX_VALID: sizes called in turn
 * are checked once each), it first calls the launch check check(args, threads)
 * (ir/analysis/bounds), whose error propagates; with check None, or a check that returns
 * False (under auto: the planner put it on another device), it does not take such a
 * launch; what else the check returns (under auto: the planner's decision) is kept with
 * the sizes, and Dispatch makes it the Kernel's decision at each launch of them. It
 * returns
 *   0  launched;
 *   1  not taken: an argument of another kind, dtype, rank or layout, a value to convert
 *      with NumPy's rules, overlapping arrays, a launch too large, new sizes without a
 *      check; nothing ran;
 *   2  launched, and the kernel faulted (the guard's flag is set; the caller raises).
 * validate(args, said) records the sizes and scalars of a launch the caller checked
 * itself, with what a check would have returned.
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
    int slot = checked_slot(self, w);
    if (slot < 0) {
        if (self->check == Py_None) return NOT_TAKEN;
        PyObject *threads = PyTuple_New(self->naxes);
        if (threads == NULL) return -1;
        for (int a = 0; a < self->naxes; a++)
            PyTuple_SET_ITEM(threads, a, PyLong_FromLongLong(w[a]));
        PyObject *r = PyObject_CallFunctionObjArgs(self->check, args, threads, NULL);
        Py_DECREF(threads);
        if (r == NULL) return -1;  /* the launch check refused it: its PxBoundsError */
        int elsewhere = r == Py_False;  /* placed on another device: not taken */
        if (!elsewhere) slot = remember_valid(self, w, r);
        Py_DECREF(r);
        if (elsewhere) return NOT_TAKEN;
    }
    PyObject *said = Py_XNewRef(self->said[slot]);  /* another thread may replace it */
    int64_t start = recording && clock_this(&self->pace) ? ticks() : 0;
    if (w[0] * w[1] * w[2] < SMALL_LAUNCH) {
        self->entry(w);  /* microseconds: releasing the GIL would cost a tenth of it */
    } else {
        Py_BEGIN_ALLOW_THREADS
        self->entry(w);
        Py_END_ALLOW_THREADS
    }
    Py_XSETREF(self->said_now, said);  /* read by the caller before the GIL is let go */
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

static PyObject *Launcher_validate(Launcher *self, PyObject *argv)
{
    int64_t w[MAX_WORDS];
    PyObject *args, *said = Py_None;
    if (!PyArg_ParseTuple(argv, "O|O", &args, &said)) return NULL;
    if (pack(self, args, w)) Py_RETURN_FALSE;
    remember_valid(self, w, said);
    Py_RETURN_TRUE;
}

static int Launcher_init(Launcher *self, PyObject *args, PyObject *kw)
{
    unsigned long long entry, fault;
    PyObject *params, *threads, *check;
    int kept = 1;
    if (!PyArg_ParseTuple(args, "KKO!O!O|i", &entry, &fault, &PyTuple_Type, &params,
                          &PyTuple_Type, &threads, &check, &kept))
        return -1;
    if (kept < 1 || kept > MAX_VALID) {
        PyErr_SetString(PyExc_ValueError, "kept: 1 to MAX_VALID checked launches");
        return -1;
    }
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
    self->kept = kept;
    self->nvalid = self->next_valid = 0;
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
    PyMem_Free(self->valid);
    self->valid = PyMem_Malloc(sizeof(int64_t) * (size_t)kept * (size_t)word);
    if (self->valid == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void Launcher_dealloc(Launcher *self)
{
    Py_XDECREF(self->check);
    for (int k = 0; k < MAX_VALID; k++) Py_XDECREF(self->said[k]);
    Py_XDECREF(self->said_now);
    PyMem_Free(self->valid);
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
    {"validate", (PyCFunction)Launcher_validate, METH_VARARGS,
     "validate(args, said=None): record the sizes and scalars of a launch the Python "
     "path checked, with what a check would have said of it."},
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

#include "native_dispatch.h"  /* Dispatch: a Kernel's call in C */

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
