/* LZ4 blocks compressed on every core in C threads: the GIL is released once per chunk.
 *
 * Each block of a chunk becomes a one-block LZ4 frame (LZ4F_compressFrame of the LZ4 Frame
 * Format 1.6.x: independent blocks, a block checksum, no content size or checksum), written
 * into its own slot of `stride` bytes of one output buffer; lz4_frame.py keeps the block
 * record of each (the frame less its 7-byte header and 4-byte end mark), as the Python path
 * does with lz4.frame.compress, so the bytes are the same. The blocks are taken from an
 * atomic counter by the calling thread and a persistent pool's workers (core_threads.h).
 *
 * liblz4 is not linked: Python hands over the addresses of LZ4F_compressFrame,
 * LZ4F_isError and LZ4F_compressFrameBound in the lz4 package's own frame module (the liblz4 that lz4.frame uses), so
 * no LZ4 header is needed; LZ4F_preferences_t below follows lz4frame.h (v1.9).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "core_threads.h"

typedef struct {
    int blockSizeID, blockMode, contentChecksumFlag, frameType;
    unsigned long long contentSize;
    unsigned dictID;
    int blockChecksumFlag;
} LZ4F_frameInfo_t;

typedef struct {
    LZ4F_frameInfo_t frameInfo;
    int compressionLevel;
    unsigned autoFlush, favorDecSpeed, reserved[3];
} LZ4F_preferences_t;

typedef size_t (*frame_fn)(void *, size_t, const void *, size_t, const LZ4F_preferences_t *);
typedef unsigned (*is_error_fn)(size_t);
typedef size_t (*frame_bound_fn)(size_t, const LZ4F_preferences_t *);

static struct {
    frame_fn compress_frame;
    is_error_fn is_error;
    frame_bound_fn frame_bound;
    int bound;
} lz4f;

#define BLOCK_IDS 4  /* 64 KiB (4), 256 KiB (5), 1 MiB (6), 4 MiB (7) */

typedef struct {
    const unsigned char *src;
    unsigned char *dst;
    int64_t *sizes;         /* each block's frame length, or -1 where LZ4F failed */
    Py_ssize_t n, block, stride, count;
    LZ4F_preferences_t prefs;
    atomic_llong next;
} Lz4Job;

static void compress_share(void *arg, int slot)
{
    Lz4Job *j = arg;
    (void)slot;
    for (Py_ssize_t k; (k = (Py_ssize_t)atomic_fetch_add(&j->next, 1)) < j->count;) {
        Py_ssize_t lo = k * j->block, len = j->n - lo < j->block ? j->n - lo : j->block;
        size_t got = lz4f.compress_frame(j->dst + k * j->stride, (size_t)j->stride,
                                         j->src + lo, (size_t)len, &j->prefs);
        j->sizes[k] = lz4f.is_error(got) ? -1 : (int64_t)got;
    }
}

static int block_id(Py_ssize_t block)
{
    for (int id = 4; id < 4 + BLOCK_IDS; id++)
        if (block == (Py_ssize_t)1 << (8 + 2 * id)) return id;
    return 0;
}

static LZ4F_preferences_t preferences(int id, int level)
{
    LZ4F_preferences_t p;
    memset(&p, 0, sizeof p);
    p.frameInfo.blockSizeID = id;
    p.frameInfo.blockMode = 1;          /* LZ4F_blockIndependent */
    p.frameInfo.blockChecksumFlag = 1;  /* LZ4F_blockChecksumEnabled */
    p.compressionLevel = level;
    return p;
}

/* stride(block, level): LZ4F_compressFrameBound of one block: the slot each block needs. */
static PyObject *stride(PyObject *self, PyObject *args)
{
    Py_ssize_t block;
    int level;
    if (!PyArg_ParseTuple(args, "ni", &block, &level)) return NULL;
    int id = block_id(block);
    if (!lz4f.bound || id == 0) {
        PyErr_SetString(PyExc_ValueError, "stride: unbound, or a bad block size");
        return NULL;
    }
    LZ4F_preferences_t p = preferences(id, level);
    return PyLong_FromSize_t(lz4f.frame_bound((size_t)block, &p));
}

static PyObject *compress(PyObject *self, PyObject *args)
{
    PyObject *src_obj, *dst_obj, *sizes_obj;
    Py_ssize_t block, stride;
    int level, workers;
    if (!PyArg_ParseTuple(args, "OOOnnii", &src_obj, &dst_obj, &sizes_obj, &block, &stride,
                          &level, &workers))
        return NULL;
    int id = block_id(block);
    if (!lz4f.bound || id == 0 || stride <= block || workers < 1) {
        PyErr_SetString(PyExc_ValueError, "compress: unbound, or a bad block size or stride");
        return NULL;
    }
    Py_buffer s, d, z;
    if (PyObject_GetBuffer(src_obj, &s, PyBUF_SIMPLE) < 0) return NULL;
    if (PyObject_GetBuffer(dst_obj, &d, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&s);
        return NULL;
    }
    if (PyObject_GetBuffer(sizes_obj, &z, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&s);
        PyBuffer_Release(&d);
        return NULL;
    }
    Py_ssize_t count = (s.len + block - 1) / block;
    int ok = d.len >= count * stride && z.len >= count * (Py_ssize_t)sizeof(int64_t);
    Lz4Job j = {s.buf, d.buf, z.buf, s.len, block, stride, count, preferences(id, level)};
    atomic_init(&j.next, 0);
    if (ok && count > 0) {
        int slots = (int)(count < workers ? count : workers);
        Py_BEGIN_ALLOW_THREADS
        pool_run(compress_share, &j, slots > POOL_MAX ? POOL_MAX : slots);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&s);
    PyBuffer_Release(&d);
    PyBuffer_Release(&z);
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "compress: the destination or sizes are too short");
        return NULL;
    }
    return PyLong_FromSsize_t(count);
}

static PyObject *bind(PyObject *self, PyObject *args)
{
    unsigned long long frame, is_error, frame_bound;
    if (!PyArg_ParseTuple(args, "KKK", &frame, &is_error, &frame_bound)) return NULL;
    if (frame == 0 || is_error == 0 || frame_bound == 0) {
        PyErr_SetString(PyExc_ValueError, "bind: a function address is 0");
        return NULL;
    }
    lz4f.compress_frame = (frame_fn)(uintptr_t)frame;
    lz4f.is_error = (is_error_fn)(uintptr_t)is_error;
    lz4f.frame_bound = (frame_bound_fn)(uintptr_t)frame_bound;
    if (!lz4f.bound) pthread_atfork(NULL, NULL, pool_after_fork);
    lz4f.bound = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_VARARGS,
     "bind(LZ4F_compressFrame, LZ4F_isError, LZ4F_compressFrameBound): their addresses."},
    {"stride", stride, METH_VARARGS,
     "stride(block, level): the bytes one block's frame may take (LZ4F_compressFrameBound)."},
    {"compress", compress, METH_VARARGS,
     "compress(src, dst, sizes, block, stride, level, workers): block k of src as a "
     "one-block frame at dst[k * stride:], its length in sizes[k] (-1: failed); the count."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pxos_lz4_threads", "LZ4 blocks on C threads.", -1, methods,
};

PyMODINIT_FUNC PyInit_pxos_lz4_threads(void) { return PyModule_Create(&module); }
