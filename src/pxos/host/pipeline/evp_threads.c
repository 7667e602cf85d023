/* One call per chunk for OpenSSL's ciphers on C threads: the GIL is released once per chunk.
 *
 * Python threads that each call OpenSSL through ctypes hand the GIL over at every call
 * (about ten per GCM segment) and wake each other through the interpreter's condition
 * variable; on two cores those hand-overs and the futures' wake-ups serialise part of the
 * work. Here one call cuts a chunk into pieces (keystream: PIECE bytes; GCM: its segments)
 * that the calling thread and the workers of a persistent pool (core_threads.h) take from
 * an atomic counter until none is left, so the cores finish together.
 *
 * OpenSSL is not linked: Python resolves the EVP functions of the libcrypto it loaded
 * (``openssl_evp``) and hands their addresses to bind(), so no OpenSSL header is needed.
 * The calls are the documented EVP ones (EVP_CIPHER_CTX_new/_free, EVP_{En,De}cryptInit_ex,
 * _Update, _Final_ex, EVP_CIPHER_CTX_ctrl with EVP_CTRL_GCM_GET_TAG/SET_TAG), in the order
 * of OpenSSL's "EVP Authenticated Encryption and Decryption" wiki page. A context is keyed
 * once per thread and call and given only a new IV per piece (EVP_*Init_ex with a NULL
 * cipher and key), so the key schedule and OpenSSL 3's implicit fetch run once per thread.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "core_threads.h"

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
#define MAX_SEGMENTS 65536

/* ---- keystream (AES-256-CTR, ChaCha20) ---- */

/* The IV of the piece that starts `blocks` keystream blocks after `iv`: AES-CTR adds to the
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

typedef struct {
    const void *cipher;
    const unsigned char *key, *iv0;
    int chacha;
    const unsigned char *src;
    unsigned char *dst;
    Py_ssize_t n, piece;  /* piece: a multiple of 64 bytes, below 2^31 */
    atomic_llong next;    /* the first byte of the next piece to take */
    atomic_int failed;
} KeyJob;

/* One slot's share: pieces taken from the counter, each from its own IV. */
static void keystream_share(void *arg, int slot)
{
    KeyJob *j = arg;
    void *ctx = NULL;
    int written = 0;
    (void)slot;
    for (;;) {
        Py_ssize_t lo = (Py_ssize_t)atomic_fetch_add(&j->next, j->piece);
        if (lo >= j->n || atomic_load(&j->failed)) break;
        if (ctx == NULL && ((ctx = evp.ctx_new()) == NULL
                            || evp.init[0](ctx, j->cipher, NULL, j->key, NULL) != 1)) {
            atomic_store(&j->failed, 1);
            break;
        }
        unsigned char iv[16];
        int step = (int)(j->n - lo < j->piece ? j->n - lo : j->piece);
        advance(iv, j->iv0, (uint64_t)(lo / (j->chacha ? 64 : 16)), j->chacha);
        if (evp.init[0](ctx, NULL, NULL, NULL, iv) != 1
            || evp.update[0](ctx, j->dst + lo, &written, j->src + lo, step) != 1)
            atomic_store(&j->failed, 1);
    }
    if (ctx != NULL) evp.ctx_free(ctx);
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
    Py_ssize_t key_len, iv_len, min_part, piece;
    int chacha, workers;
    PyObject *src_obj, *dst_obj;
    if (!PyArg_ParseTuple(args, "Kpy#y#OOnni", &cipher, &chacha, &key, &key_len, &iv0,
                          &iv_len, &src_obj, &dst_obj, &min_part, &piece, &workers))
        return NULL;
    if (!evp.bound || key_len != 32 || iv_len != 16 || workers < 1 || min_part < 64
        || piece < 64 || piece % 64 || piece > CALL_LIMIT) {
        PyErr_SetString(PyExc_ValueError, "keystream: unbound, or a bad key, IV or size");
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
    Py_ssize_t slots = s.len / min_part < workers ? s.len / min_part : workers;
    KeyJob j = {(const void *)(uintptr_t)cipher, (const unsigned char *)key,
                (const unsigned char *)iv0, chacha, s.buf, d.buf, s.len, piece};
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, 0);
    if (s.len > 0) {
        Py_BEGIN_ALLOW_THREADS
        pool_run(keystream_share, &j, (int)(slots < 1 ? 1 : slots > POOL_MAX ? POOL_MAX : slots));
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&s);
    PyBuffer_Release(&d);
    if (atomic_load(&j.failed)) {
        PyErr_SetString(PyExc_RuntimeError, "EVP_EncryptUpdate failed for a keystream piece");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* ---- GCM segments (gcm_stream's framing) ---- */

typedef struct {
    const void *cipher;
    const unsigned char *key, *nonce, *head;
    Py_buffer *src, *dst;
    uint64_t first;         /* the stream index of segment 0 of this call */
    int count, last, open;
    const unsigned char *keep_src;  /* copied to keep_dst (the pending tail), last */
    unsigned char *keep_dst;
    Py_ssize_t keep_n;
    int pieces;             /* count, then the copy in pieces of KEEP_PIECE bytes */
    atomic_int next;        /* the next piece: k < count segment k, then the copy's */
    atomic_int failed;      /* an OpenSSL call failed */
    atomic_int bad;         /* the lowest segment whose tag did not match, or count */
} GcmJob;

/* IV_i = (nonce + i) mod 2^96, big-endian; AAD_i = head (12) || i (8, big-endian) || last. */
static void segment_iv_aad(const GcmJob *r, uint64_t i, int last, unsigned char iv[12],
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

static int gcm_segment(const GcmJob *r, void *ctx, int k)
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

#define KEEP_PIECE (128 << 10)

/* One slot's share: the pieces taken from the counter, the segments first and the copy's
 * small pieces last (they fill in while the other slots finish their last segment);
 * every segment is done even after a bad tag, so the lowest bad one is found whichever
 * slot met it. */
static void gcm_share(void *arg, int slot)
{
    GcmJob *j = arg;
    void *ctx = NULL;
    (void)slot;
    for (int k; (k = atomic_fetch_add(&j->next, 1)) < j->pieces && !atomic_load(&j->failed);) {
        if (k >= j->count) {
            Py_ssize_t lo = (Py_ssize_t)(k - j->count) * KEEP_PIECE;
            size_t len = (size_t)(j->keep_n - lo < KEEP_PIECE ? j->keep_n - lo : KEEP_PIECE);
            memcpy(j->keep_dst + lo, j->keep_src + lo, len);
            continue;
        }
        if (ctx == NULL && ((ctx = evp.ctx_new()) == NULL
                            || evp.init[j->open](ctx, j->cipher, NULL, NULL, NULL) != 1
                            || evp.init[j->open](ctx, NULL, NULL, j->key, NULL) != 1)) {
            atomic_store(&j->failed, 1);
            break;
        }
        int got = gcm_segment(j, ctx, k), low = atomic_load(&j->bad);
        if (got == 1) atomic_store(&j->failed, 1);
        while (got == 2 && k < low && !atomic_compare_exchange_weak(&j->bad, &low, k)) {
        }
    }
    if (ctx != NULL) evp.ctx_free(ctx);
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

/* keep_src (a buffer, or None) copied into keep_dst by one of the slots. */
static int keep_views(PyObject *src, PyObject *dst, Py_buffer *s, Py_buffer *d)
{
    if (src == Py_None) return 0;
    if (get_buffers(src, dst, s, d) < 0) return -1;
    if (s->len == d->len) return 1;
    PyBuffer_Release(s);
    PyBuffer_Release(d);
    PyErr_SetString(PyExc_ValueError, "gcm: the kept tail's lengths do not match");
    return -1;
}

static PyObject *gcm(PyObject *self, PyObject *args)
{
    unsigned long long cipher, first;
    const char *key, *nonce, *head;
    Py_ssize_t key_len, nonce_len, head_len;
    int open, last, workers;
    PyObject *srcs, *dsts, *keep_src, *keep_dst;
    if (!PyArg_ParseTuple(args, "Kpy#y#y#KpO!O!OOi", &cipher, &open, &key, &key_len, &nonce,
                          &nonce_len, &head, &head_len, &first, &last, &PyList_Type, &srcs,
                          &PyList_Type, &dsts, &keep_src, &keep_dst, &workers))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(srcs);
    if (!evp.bound || key_len != 32 || nonce_len != 12 || head_len != 12 || workers < 1
        || count != PyList_GET_SIZE(dsts) || count > MAX_SEGMENTS) {
        PyErr_SetString(PyExc_ValueError, "gcm: unbound, or a bad key, nonce, header or list");
        return NULL;
    }
    Py_buffer ks, kd, *s = PyMem_Calloc(count + 1, sizeof(Py_buffer));
    Py_buffer *d = PyMem_Calloc(count + 1, sizeof(Py_buffer));
    int kept = s == NULL || d == NULL ? -2 : keep_views(keep_src, keep_dst, &ks, &kd);
    if (kept < 0 || segment_views(srcs, dsts, open, s, d, (int)count) < 0) {
        if (kept > 0) release_all(&ks, 1), release_all(&kd, 1);
        PyMem_Free(s);
        PyMem_Free(d);
        return kept == -2 ? PyErr_NoMemory() : NULL;
    }
    Py_ssize_t keep_n = kept ? ks.len : 0;
    GcmJob j = {(const void *)(uintptr_t)cipher, (const unsigned char *)key,
                (const unsigned char *)nonce, (const unsigned char *)head, s, d, first,
                (int)count, last, open, kept ? ks.buf : NULL, kept ? kd.buf : NULL, keep_n,
                (int)(count + (keep_n + KEEP_PIECE - 1) / KEEP_PIECE)};
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, 0);
    atomic_init(&j.bad, (int)count);
    int slots = (int)(count < workers ? count : workers);
    Py_BEGIN_ALLOW_THREADS
    pool_run(gcm_share, &j, slots < 1 ? 1 : slots > POOL_MAX ? POOL_MAX : slots);
    Py_END_ALLOW_THREADS
    int bad = atomic_load(&j.bad);
    release_all(s, (int)count);
    release_all(d, (int)count);
    if (kept) release_all(&ks, 1), release_all(&kd, 1);
    PyMem_Free(s);
    PyMem_Free(d);
    if (atomic_load(&j.failed)) {
        PyErr_SetString(PyExc_RuntimeError, "an OpenSSL call failed for an aes256gcm segment");
        return NULL;
    }
    return PyLong_FromLong(bad < count ? bad : -1);
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
    if (!evp.bound) pthread_atfork(NULL, NULL, pool_after_fork);
    evp.bound = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_VARARGS,
     "bind(ctx_new, ctx_free, enc_init, dec_init, enc_update, dec_update, enc_final, "
     "dec_final, ctrl): the EVP functions' addresses."},
    {"keystream", keystream, METH_VARARGS,
     "keystream(cipher, chacha, key, iv, src, dst, min_part, piece, workers): dst = src XOR "
     "the keystream from iv, in pieces of piece bytes on at most workers threads, one per "
     "min_part bytes."},
    {"gcm", gcm, METH_VARARGS,
     "gcm(cipher, open, key, nonce, head, first, last, srcs, dsts, keep_src, keep_dst, "
     "workers): seal or open segments first, first + 1, ... (and copy keep_src, or None, to "
     "keep_dst); the first segment whose tag fails, or -1."},
    POOL_SET_SPIN,
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pxos_evp_threads", "OpenSSL cipher parts on C threads.", -1,
    methods,
};

PyMODINIT_FUNC PyInit_pxos_evp_threads(void) { return PyModule_Create(&module); }
