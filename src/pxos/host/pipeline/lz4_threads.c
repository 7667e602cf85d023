/* LZ4 blocks compressed and decoded on every core in C threads: the GIL is released once
 * per chunk.
 *
 * Each block of a chunk becomes a one-block LZ4 frame (LZ4F_compressFrame of the LZ4 Frame
 * Format 1.6.x: independent blocks, a block checksum, no content size or checksum), written
 * into its own slot of `stride` bytes of one buffer; then the block records (each frame
 * less its 7-byte header and 4-byte end mark, as the Python path keeps of
 * lz4.frame.compress's, so the bytes are the same) are copied side by side into one bytes
 * object, on every core too (a second round of the pool, once the lengths are known). The
 * blocks are taken from an atomic counter by the calling thread and a persistent pool's
 * workers (core_threads.h).
 *
 * Decoding checks each block's XXH32 (where the frame has them) and writes the block to
 * its place, block k at k times the frame's block size (lz4_unpack.py).
 *
 * liblz4 is not linked: Python hands over the addresses of LZ4F_compressFrame,
 * LZ4F_isError, LZ4F_compressFrameBound, LZ4_decompress_safe and XXH32 in the lz4 package's
 * own frame module (the liblz4 that lz4.frame uses), so no LZ4 header is needed;
 * LZ4F_preferences_t below follows lz4frame.h (v1.9).
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
typedef int (*block_fn)(const char *, char *, int, int);
typedef unsigned (*xxh32_fn)(const void *, size_t, unsigned);

static struct {
    frame_fn compress_frame;
    is_error_fn is_error;
    frame_bound_fn frame_bound;
    block_fn decompress_safe;
    xxh32_fn xxh32;
    int bound;
} lz4f;

#define BLOCK_IDS 4  /* 64 KiB (4), 256 KiB (5), 1 MiB (6), 4 MiB (7) */

#define HEADER 7  /* a one-block frame's header (no content size) */
#define END 4     /* its end mark */

typedef struct {
    const unsigned char *src;
    unsigned char *dst;     /* the frames, block k's at k * stride */
    int64_t *sizes;         /* each block's frame length, or -1 where LZ4F failed */
    int64_t *at;            /* where each block's record goes in out (the gather) */
    unsigned char *out;
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
        j->sizes[k] = lz4f.is_error(got) || got < HEADER + END ? -1 : (int64_t)got;
    }
}

/* The records (each frame less its header and end mark) copied side by side into out. */
static void gather_share(void *arg, int slot)
{
    Lz4Job *j = arg;
    (void)slot;
    for (Py_ssize_t k; (k = (Py_ssize_t)atomic_fetch_add(&j->next, 1)) < j->count;)
        memcpy(j->out + j->at[k], j->dst + k * j->stride + HEADER,
               (size_t)(j->sizes[k] - HEADER - END));
}

static void run_shared(share_fn fn, Lz4Job *j, int workers)
{
    int slots = (int)(j->count < workers ? j->count : workers);
    atomic_store(&j->next, 0);
    Py_BEGIN_ALLOW_THREADS
    pool_run(fn, j, slots < 1 ? 1 : slots > POOL_MAX ? POOL_MAX : slots);
    Py_END_ALLOW_THREADS
}

/* The records of the frames in j (their sizes checked) joined into a new bytes object,
 * copied on every core; NULL with an exception set. */
static PyObject *joined(Lz4Job *j, int workers)
{
    int64_t total = 0;
    for (Py_ssize_t k = 0; k < j->count; k++) {
        if (j->sizes[k] < 0) {
            PyErr_SetString(PyExc_RuntimeError, "LZ4F_compressFrame failed on a block");
            return NULL;
        }
        j->at[k] = total;
        total += j->sizes[k] - HEADER - END;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
    if (out == NULL) return NULL;
    j->out = (unsigned char *)PyBytes_AS_STRING(out);
    run_shared(gather_share, j, workers);
    return out;
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
    PyObject *src_obj, *dst_obj;
    Py_ssize_t block, stride;
    int level, workers;
    if (!PyArg_ParseTuple(args, "OOnnii", &src_obj, &dst_obj, &block, &stride, &level,
                          &workers))
        return NULL;
    int id = block_id(block);
    if (!lz4f.bound || id == 0 || stride <= block || workers < 1) {
        PyErr_SetString(PyExc_ValueError, "compress: unbound, or a bad block size or stride");
        return NULL;
    }
    Py_buffer s, d;
    if (PyObject_GetBuffer(src_obj, &s, PyBUF_SIMPLE) < 0) return NULL;
    if (PyObject_GetBuffer(dst_obj, &d, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&s);
        return NULL;
    }
    Py_ssize_t count = (s.len + block - 1) / block;
    int64_t *sizes = PyMem_Calloc(2 * (size_t)count + 1, sizeof(int64_t));
    PyObject *out = NULL;
    if (sizes == NULL)
        PyErr_NoMemory();
    else if (d.len < count * stride)
        PyErr_SetString(PyExc_ValueError, "compress: the frames buffer is too short");
    else {
        Lz4Job j = {s.buf, d.buf, sizes, sizes + count, NULL, s.len, block, stride, count,
                    preferences(id, level)};
        run_shared(compress_share, &j, workers);
        out = joined(&j, workers);
    }
    PyMem_Free(sizes);
    PyBuffer_Release(&s);
    PyBuffer_Release(&d);
    return out;
}

/* ---- decoding: block records (size word, data, [XXH32 of the data]) into place ---- */

#define STORED 0x80000000u

typedef struct {
    Py_buffer *records;
    unsigned char *out;
    int64_t *sizes;         /* each block's decoded length; -1 bad checksum, -2 corrupt */
    Py_ssize_t max;
    int count, checked;
    int group;              /* blocks a piece: a 2 MiB huge page of out is one thread's */
    atomic_int next;
} UnpackJob;

static int64_t unpack_record(const UnpackJob *j, int k)
{
    const unsigned char *r = j->records[k].buf;
    Py_ssize_t len = j->records[k].len;
    if (len < 4) return -2;
    uint32_t word = (uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16
                    | (uint32_t)r[3] << 24;
    Py_ssize_t n = (Py_ssize_t)(word & ~STORED);
    if (n > j->max || len != 4 + n + (j->checked ? 4 : 0)) return -2;
    if (j->checked) {
        const unsigned char *c = r + 4 + n;
        uint32_t want = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16
                        | (uint32_t)c[3] << 24;
        if (lz4f.xxh32(r + 4, (size_t)n, 0) != want) return -1;
    }
    unsigned char *dst = j->out + (Py_ssize_t)k * j->max;
    if (word & STORED) {
        memcpy(dst, r + 4, (size_t)n);
        return n;
    }
    int got = lz4f.decompress_safe((const char *)r + 4, (char *)dst, (int)n, (int)j->max);
    return got < 0 ? -2 : got;
}

static void unpack_share(void *arg, int slot)
{
    UnpackJob *j = arg;
    (void)slot;
    for (int k; (k = atomic_fetch_add(&j->next, j->group)) < j->count;)
        for (int end = k + j->group < j->count ? k + j->group : j->count; k < end; k++)
            j->sizes[k] = unpack_record(j, k);
}

static PyObject *decompress(PyObject *self, PyObject *args)
{
    PyObject *records, *out_obj, *sizes_obj;
    Py_ssize_t max;
    int checked, workers, group;
    if (!PyArg_ParseTuple(args, "O!OOnpii", &PyList_Type, &records, &out_obj, &sizes_obj, &max,
                          &checked, &group, &workers))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(records);
    if (!lz4f.bound || max < 1 || max > INT32_MAX || workers < 1 || group < 1
        || count > INT32_MAX / 2) {
        PyErr_SetString(PyExc_ValueError, "decompress: unbound, or a bad size or count");
        return NULL;
    }
    Py_buffer o, z, *views = PyMem_Calloc(count + 1, sizeof(Py_buffer));
    if (views == NULL) return PyErr_NoMemory();
    Py_ssize_t got = 0;
    while (got < count && PyObject_GetBuffer(PyList_GET_ITEM(records, got), &views[got],
                                             PyBUF_SIMPLE) == 0)
        got++;
    int ok = got == count && PyObject_GetBuffer(out_obj, &o, PyBUF_WRITABLE) == 0;
    if (ok && PyObject_GetBuffer(sizes_obj, &z, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&o);
        ok = 0;
    }
    if (ok && (o.len < count * max || z.len < count * (Py_ssize_t)sizeof(int64_t))) {
        PyBuffer_Release(&o);
        PyBuffer_Release(&z);
        PyErr_SetString(PyExc_ValueError, "decompress: the output or sizes are too short");
        ok = 0;
    }
    if (ok) {
        UnpackJob j = {views, o.buf, z.buf, max, (int)count, checked, group};
        atomic_init(&j.next, 0);
        Py_ssize_t pieces = (count + group - 1) / group;
        int slots = (int)(pieces < workers ? pieces : workers);
        Py_BEGIN_ALLOW_THREADS
        pool_run(unpack_share, &j, slots < 1 ? 1 : slots > POOL_MAX ? POOL_MAX : slots);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&o);
        PyBuffer_Release(&z);
    }
    for (Py_ssize_t k = 0; k < got; k++) PyBuffer_Release(&views[k]);
    PyMem_Free(views);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

static PyObject *bind(PyObject *self, PyObject *args)
{
    unsigned long long frame, is_error, frame_bound, block, xxh32;
    if (!PyArg_ParseTuple(args, "KKKKK", &frame, &is_error, &frame_bound, &block, &xxh32))
        return NULL;
    if (frame == 0 || is_error == 0 || frame_bound == 0 || block == 0 || xxh32 == 0) {
        PyErr_SetString(PyExc_ValueError, "bind: a function address is 0");
        return NULL;
    }
    lz4f.compress_frame = (frame_fn)(uintptr_t)frame;
    lz4f.is_error = (is_error_fn)(uintptr_t)is_error;
    lz4f.frame_bound = (frame_bound_fn)(uintptr_t)frame_bound;
    lz4f.decompress_safe = (block_fn)(uintptr_t)block;
    lz4f.xxh32 = (xxh32_fn)(uintptr_t)xxh32;
    if (!lz4f.bound) pthread_atfork(NULL, NULL, pool_after_fork);
    lz4f.bound = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_VARARGS,
     "bind(LZ4F_compressFrame, LZ4F_isError, LZ4F_compressFrameBound, LZ4_decompress_safe, "
     "XXH32): their addresses."},
    {"decompress", decompress, METH_VARARGS,
     "decompress(records, out, sizes, max, checked, group, workers): block record k (a "
     "buffer) decoded to out[k * max:], group blocks a piece, its length in sizes[k] (-1: "
     "bad checksum, -2: corrupt)."},
    {"stride", stride, METH_VARARGS,
     "stride(block, level): the bytes one block's frame may take (LZ4F_compressFrameBound)."},
    {"compress", compress, METH_VARARGS,
     "compress(src, frames, block, stride, level, workers): the block records of src "
     "(each block a one-block frame at frames[k * stride:] first), joined, as bytes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pxos_lz4_threads", "LZ4 blocks on C threads.", -1, methods,
};

PyMODINIT_FUNC PyInit_pxos_lz4_threads(void) { return PyModule_Create(&module); }
