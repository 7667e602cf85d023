/* CRC32C of one buffer on every core in C threads: the GIL is released once per call.
 *
 * The buffer is cut into pieces of `piece` bytes that the calling thread and a persistent
 * pool's workers (core_threads.h) take from an atomic counter; each piece's CRC32C comes
 * from the crc32c package's own hardware function (Mark Adler's SSE4.2 code, three crc32
 * streams interleaved), whose address Python hands over (no crc32c header or link). The
 * pieces' CRCs are then joined in order, as zlib 1.2.12's crc32_combine does (Mark Adler):
 * crc(A || B) = crc(A) * x^(8 len(B)) mod P  XOR  crc(B), with P the reflected Castagnoli
 * polynomial 0x82F63B78 and x^(2^k) mod P from a table of repeated squares.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "core_threads.h"

#define POLY 0x82F63B78u
#define X2N 72  /* x^(2^k) mod P for k < 72: lengths in bits up to 2^72 */

/* the package's function: the register before and after, without the init and final XOR */
typedef uint32_t (*crc_fn)(uint32_t crc, const unsigned char *buf, size_t len);

static struct {
    crc_fn fn;
    uint32_t x2n[X2N];
    int bound;
} lib;

/* a * b mod P (bit 31 is x^0; a non-zero): zlib's multmodp */
static uint32_t multmodp(uint32_t a, uint32_t b)
{
    uint32_t m = 1u << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0) break;
        }
        m >>= 1;
        b = b & 1 ? (b >> 1) ^ POLY : b >> 1;
    }
    return p;
}

/* x^(8 n) mod P: n bytes of zeros (zlib's x2nmodp(n, 3)) */
static uint32_t zeros_power(uint64_t n)
{
    uint32_t p = 1u << 31;
    for (int k = 3; n; n >>= 1, k++)
        if (n & 1) p = multmodp(lib.x2n[k], p);
    return p;
}

typedef struct {
    const unsigned char *src;
    Py_ssize_t n, piece, count;
    uint32_t *crcs;  /* each piece's CRC32C */
    atomic_llong next;
} CrcJob;

static void crc_share(void *arg, int slot)
{
    CrcJob *j = arg;
    (void)slot;
    for (Py_ssize_t k; (k = (Py_ssize_t)atomic_fetch_add(&j->next, 1)) < j->count;) {
        Py_ssize_t lo = k * j->piece, len = j->n - lo < j->piece ? j->n - lo : j->piece;
        j->crcs[k] = lib.fn(0xFFFFFFFFu, j->src + lo, (size_t)len) ^ 0xFFFFFFFFu;
    }
}

/* crc32c(data, crc, piece, workers): the CRC32C of what crc covers followed by data (a
 * contiguous buffer), data cut into pieces of `piece` bytes on at most `workers` threads */
static PyObject *crc32c(PyObject *self, PyObject *args)
{
    Py_buffer in;
    unsigned long crc;
    Py_ssize_t piece;
    int workers;
    if (!lib.bound) {
        PyErr_SetString(PyExc_RuntimeError, "crc32c_threads: not bound");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*kni", &in, &crc, &piece, &workers)) return NULL;
    if (piece < 1 || workers < 1) {
        PyBuffer_Release(&in);
        PyErr_SetString(PyExc_ValueError, "crc32c_threads: piece and workers must be >= 1");
        return NULL;
    }
    CrcJob j = {in.buf, in.len, piece, (in.len + piece - 1) / piece, NULL, 0};
    j.crcs = PyMem_Malloc(sizeof(uint32_t) * (size_t)(j.count ? j.count : 1));
    if (j.crcs == NULL) {
        PyBuffer_Release(&in);
        return PyErr_NoMemory();
    }
    uint32_t out = (uint32_t)crc, step = zeros_power((uint64_t)piece);
    int slots = (int)(j.count < workers ? j.count : workers);
    Py_BEGIN_ALLOW_THREADS
    if (j.count) pool_run(crc_share, &j, slots > POOL_MAX ? POOL_MAX : slots);
    for (Py_ssize_t k = 0; k < j.count; k++) {
        Py_ssize_t len = j.n - k * piece < piece ? j.n - k * piece : piece;
        out = multmodp(len == piece ? step : zeros_power((uint64_t)len), out) ^ j.crcs[k];
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(j.crcs);
    PyBuffer_Release(&in);
    return PyLong_FromUnsignedLong(out);
}

static PyObject *bind(PyObject *self, PyObject *args)
{
    unsigned long long fn;
    if (!PyArg_ParseTuple(args, "K", &fn)) return NULL;
    if (fn == 0) {
        PyErr_SetString(PyExc_ValueError, "bind: the function address is 0");
        return NULL;
    }
    lib.fn = (crc_fn)(uintptr_t)fn;
    lib.x2n[0] = 1u << 30;  /* x^1 */
    for (int k = 1; k < X2N; k++) lib.x2n[k] = multmodp(lib.x2n[k - 1], lib.x2n[k - 1]);
    if (!lib.bound) pthread_atfork(NULL, NULL, pool_after_fork);
    lib.bound = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_VARARGS, "bind(address): the crc32c package's hardware function."},
    {"crc32c", crc32c, METH_VARARGS,
     "crc32c(data, crc, piece, workers): the CRC32C of the bytes crc covers, then data, "
     "in pieces of `piece` bytes on at most `workers` threads."},
    POOL_SET_SPIN,
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pxos_crc32c_threads", "CRC32C pieces on C threads.", -1, methods,
};

PyMODINIT_FUNC PyInit_pxos_crc32c_threads(void) { return PyModule_Create(&module); }
