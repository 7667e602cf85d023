/* The sampler module's queries: the samples taken, counts, per-call costs, the launch
 * records' epochs (pace) and whether sampling is available.
 * Included by native_sampler.c (host/native_call.py's build pastes it in). */
#ifndef PXOS_NATIVE_SAMPLER_QUERIES_H
#define PXOS_NATIVE_SAMPLER_QUERIES_H

/* taken(): the samples as (t_s, ((code, lasti), ...) innermost first, current, stmt),
   and empty buffers */
static PyObject *taken(PyObject *m, PyObject *unused)
{
    PyObject *out = PyList_New(nsamples);
    for (Py_ssize_t i = 0; out != NULL && i < nsamples; i++) {
        Sample *s = &samples[i];
        PyObject *stack = PyTuple_New(s->depth);
        for (Py_ssize_t k = 0; stack != NULL && k < s->depth; k++) {
            Py_ssize_t j = s->first + k;
            PyObject *frame = Py_BuildValue("(Oi)", codes[j], lastis[j]);
            if (frame == NULL) Py_CLEAR(stack); else PyTuple_SET_ITEM(stack, k, frame);
        }
        PyObject *item = stack ? Py_BuildValue("(dNOO)", (double)s->t / 1e9, stack,
                                               s->current, s->stmt) : NULL;
        if (item == NULL) Py_CLEAR(out); else PyList_SET_ITEM(out, i, item);
    }
    for (Py_ssize_t i = 0; i < nsamples; i++) {
        Py_DECREF(samples[i].current);
        Py_DECREF(samples[i].stmt);
    }
    for (Py_ssize_t j = 0; j < nframes; j++) Py_DECREF(codes[j]);
    nsamples = nframes = 0;
    return out;
}

/* counts(): (wake-ups, samples taken by the main thread's pending calls, samples taken by
   the sampler thread with the GIL, the sampler thread's CPU seconds, the main thread's
   seconds in its pending calls' samples) of the last run, after stop() (what
   profile_overhead.py --per-sample divides) */
static PyObject *counts(PyObject *m, PyObject *unused)
{
    return Py_BuildValue("(llldd)", wakes, by_call, by_thread, (double)thread_cpu_ns / 1e9,
                         (double)call_ns / 1e9);
}

/* costs(): the main thread's ns in each pending call's sample of the last run */
static PyObject *costs(PyObject *m, PyObject *unused)
{
    PyObject *out = PyList_New(ncosts);
    for (Py_ssize_t i = 0; out != NULL && i < ncosts; i++) {
        PyObject *v = PyLong_FromLong(call_costs[i]);
        if (v == NULL) Py_CLEAR(out); else PyList_SET_ITEM(out, i, v);
    }
    return out;
}

/* pace(addresses): bump the longs at these addresses (the launch helpers' epoch_address())
   once per sample, under the GIL; () for none */
static PyObject *pace(PyObject *m, PyObject *addresses)
{
    PyObject *seq = PySequence_Fast(addresses, "pace takes a sequence of addresses");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    long *found[MAX_EPOCHS];
    for (Py_ssize_t i = 0; i < n && i < MAX_EPOCHS; i++) {
        found[i] = PyLong_AsVoidPtr(PySequence_Fast_GET_ITEM(seq, i));
        if (found[i] == NULL) {
            Py_DECREF(seq);
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a null address");
            return NULL;
        }
    }
    Py_DECREF(seq);
    nepochs = 0;
    for (Py_ssize_t i = 0; i < n && i < MAX_EPOCHS; i++) epochs[nepochs++] = found[i];
    Py_RETURN_NONE;
}

static PyObject *available(PyObject *m, PyObject *unused)
{
#ifdef FRAMES_INSIDE
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}

#endif  /* PXOS_NATIVE_SAMPLER_QUERIES_H */
