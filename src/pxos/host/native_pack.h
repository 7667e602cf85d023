/* The packing of a native launch (included by native_call.c; host/native_call.py pastes it
 * in before building): one call signature of one compiled C kernel (a Launcher's fields),
 * and the words of the kernel's packed entry (codegen/c_packed.py) made from a tuple of
 * Python arguments, checked as the Python path checks them (native_call.c's comment says
 * what is taken).
 */
#ifndef PXOS_NATIVE_PACK_H
#define PXOS_NATIVE_PACK_H
#define MAX_PARAMS 64
#define MAX_WORDS (3 + MAX_PARAMS * 4)
#define MAX_ELEMENTS 2147483647LL
#define SMALL_LAUNCH 4096  /* threads: a launch this small keeps the GIL */
#define MAX_VALID 4  /* checked launches a Launcher remembers (sizes called in turn) */

enum { P_ARRAY = 1, P_INT = 2, P_UINT = 3, P_FLOAT = 4, P_BOOL = 5 };
enum { T_CONST = 0, T_SCALAR = 1, T_SIZE = 2, T_EXTENT = 3 };

typedef struct {
    int kind, typenum, ndim, writes, bits, word;
    PyTypeObject *scalar;  /* a scalar parameter's NumPy scalar type (static in NumPy) */
} Param;

/* where a NumPy number's value is: after the object head, as in PyFloatScalarObject */
#define SCALAR_VALUE(o) ((const char *)(o) + offsetof(PyDoubleScalarObject, obval))

typedef struct {
    PyObject_HEAD
    void (*entry)(const int64_t *);
    volatile int *fault;
    PyObject *check;  /* check(args, threads) for a launch of new sizes, or None */
    int nparams, naxes, nwords;
    int kept, nvalid, next_valid;  /* launches checked remembered: at most, now, next slot */
    Param params[MAX_PARAMS];
    int taxis[3][3];
    int64_t *valid;  /* kept × nwords words of the launches checked (PyMem) */
    PyObject *said[MAX_VALID];  /* what the check returned for each (NULL: None) */
    PyObject *said_now;         /* that of the last launch (a reference, or NULL) */
    unsigned char pointer[MAX_WORDS];
    long noted;  /* the serial of the profile's launch log that noted it (watch_log) */
    Pace pace;   /* its clock readings while profiled (native_record.h, clock_this) */
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
    } else if (Py_TYPE(o) == p->scalar || PyArray_IsScalar(o, Integer)
               || PyArray_IsScalar(o, Bool)) {
        int num = p->typenum;
        if (Py_TYPE(o) != p->scalar) {
            PyArray_Descr *d = PyArray_DescrFromScalar(o);
            num = d->type_num;
            Py_DECREF(d);
        }
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
        memcpy(&b, SCALAR_VALUE(o), p->bits / 8);  /* the scalar's own bytes */
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
    if (Py_TYPE(o) == p->scalar) {  /* the parameter's own type: its bytes */
        *w = 0;
        memcpy(w, SCALAR_VALUE(o), p->bits / 8);
        return 0;
    } else if (PyFloat_CheckExact(o)) {
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

/* the slot of the checked launch remembered (one of the last `kept`) whose sizes, thread
   counts and scalars are those of w, or -1 */
static int checked_slot(const Launcher *self, const int64_t *w)
{
    for (int k = 0; k < self->nvalid; k++) {
        int i = 0;
        const int64_t *v = self->valid + (size_t)k * self->nwords;
        while (i < self->nwords && (self->pointer[i] || w[i] == v[i])) i++;
        if (i == self->nwords) return k;
    }
    return -1;
}

/* remember w as checked, with what its check said (said: None or an object, kept), in
   place of the oldest remembered where `kept` are; its slot */
static int remember_valid(Launcher *self, const int64_t *w, PyObject *said)
{
    int slot = self->next_valid;
    memcpy(self->valid + (size_t)slot * self->nwords, w, sizeof(int64_t) * self->nwords);
    Py_XSETREF(self->said[slot], said == Py_None ? NULL : Py_NewRef(said));
    self->next_valid = (slot + 1) % self->kept;
    if (self->nvalid < self->kept) self->nvalid++;
    return slot;
}

#endif
