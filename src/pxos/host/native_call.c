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
 *   2  launched, and the kernel faulted (the guard's flag is set; the caller raises);
 *   3  not launched: the profiler records, and this launcher's launch shape is not noted
 *      in its log yet (the first call since recording started; the caller notes it and
 *      calls again, which launches).
 * validate(args) records the sizes and scalars of a launch the caller checked itself.
 *
 * The profiler's launch record is native_record.h's (included).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <numpy/arrayscalars.h>
#include <stdint.h>
#include <string.h>
#include "native_record.h"  /* pasted in by native_call.py's build */

#define MAX_PARAMS 64
#define MAX_WORDS (3 + MAX_PARAMS * 4)
#define MAX_ELEMENTS 2147483647LL
#define SMALL_LAUNCH 4096  /* threads: a launch this small keeps the GIL */

enum { P_ARRAY = 1, P_INT = 2, P_UINT = 3, P_FLOAT = 4, P_BOOL = 5 };
enum { T_CONST = 0, T_SCALAR = 1, T_SIZE = 2, T_EXTENT = 3 };

typedef struct {
    int kind, typenum, ndim, writes, bits, word;
} Param;

typedef struct {
    PyObject_HEAD
    void (*entry)(const int64_t *);
    volatile int *fault;
    PyObject *check;  /* check(args, threads) for a launch of new sizes, or None */
    int nparams, naxes, nwords, has_valid;
    long noted;  /* the recording session this launcher was last noted in */
    Param params[MAX_PARAMS];
    int taxis[3][3];
    int64_t valid[MAX_WORDS];
    unsigned char pointer[MAX_WORDS];
} Launcher;

static double scratch[2];

/* an integer scalar: 0 ok, 1 not taken */
static int int_word(const Param *p, PyObject *o, int64_t *w)
{
    long long v;
    if (PyBool_Check(o)) {
        v = (o == Py_True);
    } else if (PyLong_CheckExact(o)) {
        int overflow = 0;
        v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow || (v == -1 && PyErr_Occurred())) { PyErr_Clear(); return 1; }
    } else if (PyArray_IsScalar(o, Integer) || PyArray_IsScalar(o, Bool)) {
        PyArray_Descr *d = PyArray_DescrFromScalar(o);
        int num = d->type_num;
        Py_DECREF(d);
        if (num != p->typenum) {  /* another integer type: its value, range-checked */
            if (PyArray_IsScalar(o, Bool)) return 1;
            PyObject *i = PyNumber_Index(o);
            if (i == NULL) { PyErr_Clear(); return 1; }
            int overflow = 0;
            v = PyLong_AsLongLongAndOverflow(i, &overflow);
            Py_DECREF(i);
            if (overflow || (v == -1 && PyErr_Occurred())) { PyErr_Clear(); return 1; }
            goto ranged;
        }
        union { int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32;
                uint32_t u32; int64_t i64; uint64_t u64; } b;
        PyArray_ScalarAsCtype(o, &b);
        switch (p->bits * (p->kind == P_UINT ? -1 : 1)) {
        case 8: *w = b.i8; return 0;   case -8: *w = b.u8; return 0;
        case 16: *w = b.i16; return 0; case -16: *w = b.u16; return 0;
        case 32: *w = b.i32; return 0; case -32: *w = b.u32; return 0;
        case 64: *w = b.i64; return 0; case -64: *w = (int64_t)b.u64; return 0;
        default: return 1;
        }
    } else {
        return 1;
    }
ranged:;
    long long lo, hi;
    if (p->kind == P_UINT) {
        lo = 0;
        hi = p->bits >= 63 ? INT64_MAX : (1LL << p->bits) - 1;
    } else {
        lo = -(1LL << (p->bits - 1));
        hi = p->bits >= 64 ? INT64_MAX : (1LL << (p->bits - 1)) - 1;
        if (p->bits >= 64) lo = INT64_MIN;
    }
    if (v < lo || v > hi) return 1;  /* wraps: the Python path converts it */
    *w = v;
    return 0;
}

/* a float scalar (f32 in the word's first four bytes, f64 in all eight) */
static int float_word(const Param *p, PyObject *o, int64_t *w)
{
    double d;
    if (PyFloat_CheckExact(o)) {
        d = PyFloat_AS_DOUBLE(o);
    } else if (PyBool_Check(o)) {
        d = (o == Py_True);
    } else if (PyLong_CheckExact(o)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow || (v == -1 && PyErr_Occurred())) { PyErr_Clear(); return 1; }
        if (v > (1LL << 53) || v < -(1LL << 53)) return 1;
        d = (double)v;
    } else if (PyArray_IsScalar(o, Floating)) {
        PyArray_Descr *dd = PyArray_DescrFromScalar(o);
        int num = dd->type_num;
        Py_DECREF(dd);
        if (num == p->typenum) {
            *w = 0;
            PyArray_ScalarAsCtype(o, w);  /* the scalar's own bytes: float or double */
            return 0;
        }
        if (num != NPY_HALF && num != NPY_FLOAT && num != NPY_DOUBLE) return 1;
        d = PyFloat_AsDouble(o);  /* exact for these; then rounded once, as NumPy does */
        if (d == -1.0 && PyErr_Occurred()) { PyErr_Clear(); return 1; }
    } else if (PyArray_IsScalar(o, Integer)) {
        PyObject *i = PyNumber_Index(o);
        if (i == NULL) { PyErr_Clear(); return 1; }
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(i, &overflow);
        Py_DECREF(i);
        if (overflow || (v == -1 && PyErr_Occurred())) { PyErr_Clear(); return 1; }
        if (v > (1LL << 53) || v < -(1LL << 53)) return 1;
        d = (double)v;
    } else {
        return 1;
    }
    *w = 0;
    if (p->bits == 32) {
        float f = (float)d;
        memcpy(w, &f, 4);
    } else {
        memcpy(w, &d, 8);
    }
    return 0;
}

/* a bool scalar: Python's or NumPy's */
static int bool_word(PyObject *o, int64_t *w)
{
    if (PyBool_Check(o)) *w = (o == Py_True);
    else if (PyArray_IsScalar(o, Bool)) *w = PyArrayScalar_VAL(o, Bool) != 0;
    else return 1;
    return 0;
}

/* the words of a launch with these arguments: 0 ok, 1 not taken */
static int pack(Launcher *self, PyObject *args, int64_t *w)
{
    if (!PyTuple_CheckExact(args) || PyTuple_GET_SIZE(args) != self->nparams) return 1;
    char *lo[MAX_PARAMS], *hi[MAX_PARAMS];
    for (int i = 0; i < self->nparams; i++) {
        const Param *p = &self->params[i];
        PyObject *o = PyTuple_GET_ITEM(args, i);
        int64_t *pw = w + p->word;
        if (p->kind == P_ARRAY) {
            if (!PyArray_CheckExact(o)) return 1;
            PyArrayObject *a = (PyArrayObject *)o;
            if (PyArray_TYPE(a) != p->typenum || PyArray_NDIM(a) != p->ndim
                || !PyArray_IS_C_CONTIGUOUS(a) || !PyArray_ISNOTSWAPPED(a)
                || (p->writes && !PyArray_ISWRITEABLE(a)))
                return 1;
            npy_intp size = PyArray_SIZE(a);
            if (size > MAX_ELEMENTS) return 1;
            char *data = PyArray_BYTES(a);
            lo[i] = data;
            hi[i] = size ? data + PyArray_NBYTES(a) : data;
            pw[0] = (int64_t)(intptr_t)(size ? (void *)data : (void *)scratch);
            npy_intp *dims = PyArray_DIMS(a);
            for (int k = 0; k < p->ndim; k++) pw[1 + k] = dims[k];
        } else {
            lo[i] = hi[i] = NULL;
            int r = p->kind == P_FLOAT ? float_word(p, o, pw)
                  : p->kind == P_BOOL ? bool_word(o, pw)
                  : int_word(p, o, pw);
            if (r) return r;
        }
    }
    /* arrays the kernel writes may not overlap any other array (the Python path copies
       or refuses them) */
    for (int i = 0; i < self->nparams; i++) {
        if (!self->params[i].writes || lo[i] == hi[i]) continue;
        for (int j = 0; j < self->nparams; j++)
            if (j != i && self->params[j].kind == P_ARRAY && lo[j] != hi[j]
                && lo[i] < hi[j] && lo[j] < hi[i])
                return 1;
    }
    long long total = 1;
    for (int a = 0; a < 3; a++) {
        long long n = 1;
        if (a < self->naxes) {
            int kind = self->taxis[a][0], x = self->taxis[a][1], y = self->taxis[a][2];
            const Param *p = &self->params[kind == T_CONST ? 0 : x];
            if (kind == T_CONST) {
                n = x;
            } else if (kind == T_SCALAR) {
                n = w[p->word];
            } else if (kind == T_SIZE) {
                for (int k = 0; k < p->ndim; k++) n *= w[p->word + 1 + k];
            } else {
                n = w[p->word + 1 + y];
            }
        }
        if (n < 0) return 1;
        total *= n;
        if (total > MAX_ELEMENTS) return 1;
        w[a] = n;
    }
    return 0;
}

/* whether the sizes, thread counts or scalars of w differ from the last checked launch */
static int differs(const Launcher *self, const int64_t *w)
{
    for (int i = 0; i < self->nwords; i++)
        if (!self->pointer[i] && w[i] != self->valid[i]) return 1;
    return 0;
}

static PyObject *Launcher_call(Launcher *self, PyObject *argv, PyObject *kw)
{
    if (kw != NULL || PyTuple_GET_SIZE(argv) != 1) {
        PyErr_SetString(PyExc_TypeError, "a Launcher takes one tuple of arguments");
        return NULL;
    }
    PyObject *args = PyTuple_GET_ITEM(argv, 0);
    int64_t w[MAX_WORDS];
    if (pack(self, args, w)) return PyLong_FromLong(1);
    if (!self->has_valid || differs(self, w)) {
        if (self->check == Py_None) return PyLong_FromLong(1);
        PyObject *threads = PyTuple_New(self->naxes);
        if (threads == NULL) return NULL;
        for (int a = 0; a < self->naxes; a++)
            PyTuple_SET_ITEM(threads, a, PyLong_FromLongLong(w[a]));
        PyObject *r = PyObject_CallFunctionObjArgs(self->check, args, threads, NULL);
        Py_DECREF(threads);
        if (r == NULL) return NULL;  /* the launch check refused it: its PxBoundsError */
        Py_DECREF(r);
        memcpy(self->valid, w, sizeof(int64_t) * self->nwords);
        self->has_valid = 1;
    }
    if (must_note(&self->noted)) return PyLong_FromLong(3);
    int64_t start = recording ? ticks() : 0;
    if (w[0] * w[1] * w[2] < SMALL_LAUNCH) {
        self->entry(w);  /* microseconds: releasing the GIL would cost a tenth of it */
    } else {
        Py_BEGIN_ALLOW_THREADS
        self->entry(w);
        Py_END_ALLOW_THREADS
    }
    if (*self->fault) return PyLong_FromLong(2);
    if (start) record_launch((PyObject *)self, start);
    return PyLong_FromLong(0);
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

static PyMethodDef Launcher_methods[] = {
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

static PyMethodDef module_methods[] = {
    {"record_launches", record_launches, METH_O,
     "Start (True) or stop (False) recording launches (the profiler's launch record)."},
    {"recorded_launches", recorded_launches, METH_NOARGS,
     "The launches recorded so far as (launcher, start_s, end_s, code, lasti) tuples; "
     "empties the record."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pxos_native_call", "pxos's native call helper.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit_pxos_native_call(void)
{
    import_array();
    if (PyType_Ready(&LauncherType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&LauncherType);
    if (PyModule_AddObject(m, "Launcher", (PyObject *)&LauncherType) < 0) {
        Py_DECREF(&LauncherType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
