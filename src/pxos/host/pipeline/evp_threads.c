/* One part per core for OpenSSL's ciphers, in C threads: the GIL is released once per chunk.
 *
 * Python threads that each call OpenSSL through ctypes hand the GIL over at every call
 * (about ten per GCM segment) and wake each other through the interpreter's condition
 * variable; on two cores those hand-overs and the futures' wake-ups serialise part of the
 * work. Here one call cuts a chunk into parts (keystream) or runs of segments (GCM), starts
 * workers - 1 POSIX threads, does the first share in the calling thread and joins them.
 *
 * OpenSSL is not linked: Python resolves the EVP functions of the libcrypto it loaded
 * (``openssl_evp``) and hands their addresses to bind(), so no OpenSSL header is needed.
 * The calls are the documented EVP ones (EVP_CIPHER_CTX_new/_free, EVP_{En,De}cryptInit_ex,
 * _Update, _Final_ex, EVP_CIPHER_CTX_ctrl with EVP_CTRL_GCM_GET_TAG/SET_TAG), in the order
 * of OpenSSL's "EVP Authenticated Encryption and Decryption" wiki page. A GCM context is
 * keyed once per thread and given only a new IV per segment (EVP_*Init_ex with a NULL
 * cipher and key), so the key schedule and OpenSSL 3's implicit fetch run once per thread.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

typedef void *(*ctx_new_fn)(void);
typedef void (*ctx_free_fn)(void *);
typedef int (*init_fn)(void *, const void *, void *, const unsigned char *, const unsigned char *);
typedef int (*update_fn)(void *, unsigned char *, int *, const unsigned char *, int);
typedef int (*final_fn)(void *, unsigned char *, int *);
typedef int (*ctrl_fn)(void *, int, int, void *);

static struct {
    ctx_new_fn ctx_new;
    ctx_free_fn ctx_free;
    init_fn init[2];     /* [0] encrypt, [1] decrypt */
    update_fn update[2];
    final_fn final[2];
    ctrl_fn ctrl;
    int bound;
} evp;

#define GCM_GET_TAG 0x10
#define GCM_SET_TAG 0x11
#define TAG 16
#define CALL_LIMIT (1 << 30)
#define MAX_WORKERS 256
#define MAX_SEGMENTS 65536

/* ---- keystream (AES-256-CTR, ChaCha20) ---- */

typedef struct {
    const void *cipher;
    const unsigned char *key;
    unsigned char iv[16];
    const unsigned char *src;
    unsigned char *dst;
    Py_ssize_t n;
    int failed;
} KeyPart;

static void *keystream_part(void *arg)
{
    KeyPart *p = arg;
    void *ctx = evp.ctx_new();
    Py_ssize_t done = 0;
    int written = 0;
    p->failed = ctx == NULL || evp.init[0](ctx, p->cipher, NULL, p->key, p->iv) != 1;
    while (!p->failed && done < p->n) {
        int step = (int)(p->n - done < CALL_LIMIT ? p->n - done : CALL_LIMIT);
        p->failed = evp.update[0](ctx, p->dst + done, &written, p->src + done, step) != 1;
        done += step;
    }
    if (ctx != NULL) evp.ctx_free(ctx);
    return NULL;
}

/* The IV of the part that starts `blocks` keystream blocks after `iv`: AES-CTR adds to the
 * 16-byte big-endian counter block (mod 2^128, as cryptography's modes.CTR); ChaCha20 adds
 * to the 32-bit little-endian block counter in front of the nonce (the caller refuses a
 * wrap, RFC 8439 section 2.4). */
static void advance(unsigned char iv[16], const unsigned char *iv0, uint64_t blocks, int chacha)
{
    memcpy(iv, iv0, 16);
    if (chacha) {
        uint32_t c = (uint32_t)iv[0] | (uint32_t)iv[1] << 8 | (uint32_t)iv[2] << 16
                     | (uint32_t)iv[3] << 24;
        c += (uint32_t)blocks;
        for (int k = 0; k < 4; k++) iv[k] = (unsigned char)(c >> (8 * k));
        return;
    }
    unsigned int carry = 0;
    for (int k = 15; k >= 0; k--) {
        unsigned int sum = iv[k] + (unsigned int)(blocks & 0xFF) + carry;
        iv[k] = (unsigned char)sum;
        carry = sum >> 8;
        blocks >>= 8;
    }
}

/* Run fn over n jobs of `size` bytes each, jobs[0] in this thread and the others in new
 * threads (in this thread too where a thread cannot be started); joins them all. */
static void run_jobs(void *(*fn)(void *), char *jobs, size_t size, int n)
{
    pthread_t tid[MAX_WORKERS];
    int started[MAX_WORKERS];
    for (int k = 1; k < n; k++)
        started[k] = pthread_create(&tid[k], NULL, fn, jobs + k * size) == 0;
    fn(jobs);
    for (int k = 1; k < n; k++) {
        if (started[k]) pthread_join(tid[k], NULL);
        else fn(jobs + k * size);
    }
}

static int get_buffers(PyObject *src, PyObject *dst, Py_buffer *s, Py_buffer *d)
{
    if (PyObject_GetBuffer(src, s, PyBUF_SIMPLE) < 0) return -1;
    if (PyObject_GetBuffer(dst, d, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(s);
        return -1;
    }
    return 0;
}

static PyObject *keystream(PyObject *self, PyObject *args)
{
    unsigned long long cipher;
    const char *key, *iv0;
    Py_ssize_t key_len, iv_len, min_part;
    int chacha, workers;
    PyObject *src_obj, *dst_obj;
    if (!PyArg_ParseTuple(args, "Kpy#y#OOni", &cipher, &chacha, &key, &key_len, &iv0, &iv_len,
                          &src_obj, &dst_obj, &min_part, &workers))
        return NULL;
    if (!evp.bound || key_len != 32 || iv_len != 16 || workers < 1 || min_part < 64) {
        PyErr_SetString(PyExc_ValueError, "keystream: unbound, or a bad key, IV or count");
        return NULL;
    }
    Py_buffer s, d;
    if (get_buffers(src_obj, dst_obj, &s, &d) < 0) return NULL;
    if (d.len < s.len) {
        PyBuffer_Release(&s);
        PyBuffer_Release(&d);
        PyErr_SetString(PyExc_ValueError, "keystream: the destination is too short");
        return NULL;
    }
    Py_ssize_t unit = chacha ? 64 : 16, n = s.len;
    Py_ssize_t count = n / min_part < workers ? n / min_part : workers;
    if (count < 1) count = 1;
    if (count > MAX_WORKERS) count = MAX_WORKERS;
    Py_ssize_t step = ((n + count - 1) / count + unit - 1) / unit * unit;
    KeyPart parts[MAX_WORKERS];
    int used = 0;
    for (Py_ssize_t lo = 0; lo < n; lo += step, used++) {
        KeyPart *p = &parts[used];
        p->cipher = (const void *)(uintptr_t)cipher;
        p->key = (const unsigned char *)key;
        advance(p->iv, (const unsigned char *)iv0, (uint64_t)(lo / unit), chacha);
        p->src = (const unsigned char *)s.buf + lo;
        p->dst = (unsigned char *)d.buf + lo;
        p->n = n - lo < step ? n - lo : step;
        p->failed = 0;
    }
    if (used > 0) {
        Py_BEGIN_ALLOW_THREADS
        run_jobs(keystream_part, (char *)parts, sizeof(KeyPart), used);
        Py_END_ALLOW_THREADS
    }
    int failed = 0;
    for (int k = 0; k < used; k++) failed |= parts[k].failed;
    PyBuffer_Release(&s);
    PyBuffer_Release(&d);
    if (failed) {
        PyErr_SetString(PyExc_RuntimeError, "EVP_EncryptUpdate failed for a keystream part");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* ---- GCM segments (gcm_stream's framing) ---- */

typedef struct {
    const void *cipher;
    const unsigned char *key, *nonce, *head;
    Py_buffer *src, *dst;
    uint64_t first;   /* the stream index of segment 0 of this call */
    int lo, hi, count, last, open;
    int failed;       /* 1: an OpenSSL call failed; 2: a tag did not match */
    int bad;          /* the first segment (of this call) whose tag did not match */
} GcmRun;

/* IV_i = (nonce + i) mod 2^96, big-endian; AAD_i = head (12) || i (8, big-endian) || last. */
static void segment_iv_aad(const GcmRun *r, uint64_t i, int last, unsigned char iv[12],
                           unsigned char aad[21])
{
    unsigned int carry = 0;
    uint64_t add = i;
    for (int k = 11; k >= 0; k--) {
        unsigned int sum = r->nonce[k] + (unsigned int)(add & 0xFF) + carry;
        iv[k] = (unsigned char)sum;
        carry = sum >> 8;
        add >>= 8;
    }
    memcpy(aad, r->head, 12);
    for (int k = 0; k < 8; k++) aad[12 + k] = (unsigned char)(i >> (56 - 8 * k));
    aad[20] = (unsigned char)last;
}

static int gcm_segment(const GcmRun *r, void *ctx, int k)
{
    unsigned char iv[12], aad[21];
    int side = r->open, written = 0, last = r->last && k == r->count - 1;
    const unsigned char *in = r->src[k].buf;
    unsigned char *out = r->dst[k].buf;
    int n = (int)(r->open ? r->src[k].len - TAG : r->src[k].len);
    segment_iv_aad(r, r->first + (uint64_t)k, last, iv, aad);
    if (evp.init[side](ctx, NULL, NULL, NULL, iv) != 1
        || evp.update[side](ctx, NULL, &written, aad, (int)sizeof aad) != 1
        || (n > 0 && evp.update[side](ctx, out, &written, in, n) != 1))
        return 1;
    if (!side)
        return evp.final[0](ctx, out + n, &written) != 1
               || evp.ctrl(ctx, GCM_GET_TAG, TAG, out + n) != 1;
    if (evp.ctrl(ctx, GCM_SET_TAG, TAG, (void *)(in + n)) != 1) return 1;
    return evp.final[1](ctx, out + n, &written) == 1 ? 0 : 2;
}

static void *gcm_run(void *arg)
{
    GcmRun *r = arg;
    void *ctx = evp.ctx_new();
    r->failed = ctx == NULL || evp.init[r->open](ctx, r->cipher, NULL, NULL, NULL) != 1
                || evp.init[r->open](ctx, NULL, NULL, r->key, NULL) != 1;
    for (int k = r->lo; k < r->hi && !r->failed; k++) {
        r->failed = gcm_segment(r, ctx, k);
        if (r->failed == 2) r->bad = k;
    }
    if (ctx != NULL) evp.ctx_free(ctx);
    return NULL;
}

static void release_all(Py_buffer *views, int n)
{
    for (int k = 0; k < n; k++) PyBuffer_Release(&views[k]);
}

static int segment_views(PyObject *srcs, PyObject *dsts, int open, Py_buffer *s, Py_buffer *d,
                         int count)
{
    for (int k = 0; k < count; k++) {
        if (get_buffers(PyList_GET_ITEM(srcs, k), PyList_GET_ITEM(dsts, k), &s[k], &d[k]) < 0) {
            release_all(s, k);
            release_all(d, k);
            return -1;
        }
        Py_ssize_t need = open ? s[k].len - TAG : s[k].len + TAG;
        if (need < 0 || d[k].len != need || s[k].len > INT32_MAX - TAG) {
            release_all(s, k + 1);
            release_all(d, k + 1);
            PyErr_SetString(PyExc_ValueError, "gcm: a segment's lengths do not match");
            return -1;
        }
    }
    return 0;
}

static PyObject *gcm(PyObject *self, PyObject *args)
{
    unsigned long long cipher, first;
    const char *key, *nonce, *head;
    Py_ssize_t key_len, nonce_len, head_len;
    int open, last, workers;
    PyObject *srcs, *dsts;
    if (!PyArg_ParseTuple(args, "Kpy#y#y#KpO!O!i", &cipher, &open, &key, &key_len, &nonce,
                          &nonce_len, &head, &head_len, &first, &last, &PyList_Type, &srcs,
                          &PyList_Type, &dsts, &workers))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(srcs);
    if (!evp.bound || key_len != 32 || nonce_len != 12 || head_len != 12 || workers < 1
        || count != PyList_GET_SIZE(dsts) || count > MAX_SEGMENTS) {
        PyErr_SetString(PyExc_ValueError, "gcm: unbound, or a bad key, nonce, header or list");
        return NULL;
    }
    Py_buffer *s = PyMem_Calloc(count + 1, sizeof(Py_buffer));
    Py_buffer *d = PyMem_Calloc(count + 1, sizeof(Py_buffer));
    if (s == NULL || d == NULL) {
        PyMem_Free(s);
        PyMem_Free(d);
        return PyErr_NoMemory();
    }
    if (segment_views(srcs, dsts, open, s, d, (int)count) < 0) {
        PyMem_Free(s);
        PyMem_Free(d);
        return NULL;
    }
    int used = (int)(count < workers ? count : workers);
    if (used > MAX_WORKERS) used = MAX_WORKERS;
    if (used < 1) used = 1;
    GcmRun runs[MAX_WORKERS];
    int step = (int)((count + used - 1) / used);
    for (int k = 0; k < used; k++) {
        GcmRun *r = &runs[k];
        r->cipher = (const void *)(uintptr_t)cipher;
        r->key = (const unsigned char *)key;
        r->nonce = (const unsigned char *)nonce;
        r->head = (const unsigned char *)head;
        r->src = s, r->dst = d, r->first = first, r->count = (int)count;
        r->lo = k * step, r->hi = (k + 1) * step < count ? (k + 1) * step : (int)count;
        r->last = last, r->open = open, r->failed = 0, r->bad = -1;
    }
    if (count > 0) {
        Py_BEGIN_ALLOW_THREADS
        run_jobs(gcm_run, (char *)runs, sizeof(GcmRun), used);
        Py_END_ALLOW_THREADS
    }
    int failed = 0, bad = -1;
    for (int k = 0; k < used; k++) {
        failed |= runs[k].failed & 1;
        if (runs[k].bad >= 0 && bad < 0) bad = runs[k].bad;
    }
    release_all(s, (int)count);
    release_all(d, (int)count);
    PyMem_Free(s);
    PyMem_Free(d);
    if (failed) {
        PyErr_SetString(PyExc_RuntimeError, "an OpenSSL call failed for an aes256gcm segment");
        return NULL;
    }
    return PyLong_FromLong(bad);
}

static PyObject *bind(PyObject *self, PyObject *args)
{
    unsigned long long a[9];
    if (!PyArg_ParseTuple(args, "KKKKKKKKK", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6],
                          &a[7], &a[8]))
        return NULL;
    for (int k = 0; k < 9; k++)
        if (a[k] == 0) {
            PyErr_SetString(PyExc_ValueError, "bind: a function address is 0");
            return NULL;
        }
    evp.ctx_new = (ctx_new_fn)(uintptr_t)a[0];
    evp.ctx_free = (ctx_free_fn)(uintptr_t)a[1];
    evp.init[0] = (init_fn)(uintptr_t)a[2];
    evp.init[1] = (init_fn)(uintptr_t)a[3];
    evp.update[0] = (update_fn)(uintptr_t)a[4];
    evp.update[1] = (update_fn)(uintptr_t)a[5];
    evp.final[0] = (final_fn)(uintptr_t)a[6];
    evp.final[1] = (final_fn)(uintptr_t)a[7];
    evp.ctrl = (ctrl_fn)(uintptr_t)a[8];
    evp.bound = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_VARARGS,
     "bind(ctx_new, ctx_free, enc_init, dec_init, enc_update, dec_update, enc_final, "
     "dec_final, ctrl): the EVP functions' addresses."},
    {"keystream", keystream, METH_VARARGS,
     "keystream(cipher, chacha, key, iv, src, dst, min_part, workers): dst = src XOR the "
     "keystream from iv, one part of at least min_part bytes per worker."},
    {"gcm", gcm, METH_VARARGS,
     "gcm(cipher, open, key, nonce, head, first, last, srcs, dsts, workers): seal or open "
     "segments first, first + 1, ...; the first segment whose tag fails, or -1."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pxos_evp_threads", "OpenSSL cipher parts on C threads.", -1,
    methods,
};

PyMODINIT_FUNC PyInit_pxos_evp_threads(void) { return PyModule_Create(&module); }
