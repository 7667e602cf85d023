/* A host loop of RUN launches in C (host/run_loop.py; included by native_call.c, which
 * host/native_call.py pastes it into before building).
 *
 * repeat(launches, count, steps, step, now, what, transfers) runs `count` iterations of a
 * `.px` host loop whose body is RUN statements, each with a native launcher and the same
 * argument tuple at every iteration. Per iteration, per entry (launcher, args, stmt, span,
 * device, decision) of tuple `launches` in order: now[0] = stmt (host/interrupt's
 * running statement), the launch, now[0] = None, and a step appended to list `steps`,
 * made as the tuple subclass `step` (host/program's Step: span, what, device, seconds,
 * transfers, decision) with the seconds the launch took. Ctrl-C stops it before a
 * launch (KeyboardInterrupt); an error of a launch check propagates. Either way the
 * launches before it have their steps, and the one it stopped at has none. Other threads
 * get the GIL every SWITCH_NS, as between the interpreter's bytecodes.
 *
 * Returns (iterations done, entry, status): (count, 0, LAUNCHED) when every launch ran,
 * else where it stopped: NOT_TAKEN, that launch did not run (the caller runs it the
 * Python way); FAULTED, it ran and faulted (the caller raises).
 */
#ifndef PXOS_NATIVE_LOOP_H
#define PXOS_NATIVE_LOOP_H
#define SWITCH_NS 5000000  /* the GIL is offered to other threads this often (Python's
                              default switch interval, sys.getswitchinterval()) */

/* a Step of these fields (a new reference), or NULL */
static PyObject *new_step(PyTypeObject *step, PyObject *const *fields, int64_t ns)
{
    PyObject *seconds = PyFloat_FromDouble((double)ns / 1e9);
    if (seconds == NULL) return NULL;
    PyObject *out = step->tp_alloc(step, 6);
    if (out == NULL) {
        Py_DECREF(seconds);
        return NULL;
    }
    for (int i = 0; i < 6; i++)
        PyTuple_SET_ITEM(out, i, i == 3 ? seconds : Py_NewRef(fields[i]));
    /* no cycle runs through a step (its fields never refer back to a run's steps), so
       the collector need not track it: a loop of a million launches would otherwise make
       the collector walk every step it kept, again and again */
    if (PyObject_GC_IsTracked(out)) PyObject_GC_UnTrack(out);
    return out;
}

/* whether each entry of launches is (Launcher, tuple, stmt, span, device, decision) */
static int entries_valid(PyObject *launches)
{
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(launches); j++) {
        PyObject *e = PyTuple_GET_ITEM(launches, j);
        if (!PyTuple_CheckExact(e) || PyTuple_GET_SIZE(e) != 6
            || !PyObject_TypeCheck(PyTuple_GET_ITEM(e, 0), &LauncherType)
            || !PyTuple_CheckExact(PyTuple_GET_ITEM(e, 1)))
            return 0;
    }
    return 1;
}

static PyObject *repeat(PyObject *m, PyObject *argv)
{
    PyObject *launches, *steps, *now, *what, *transfers;
    PyTypeObject *step;
    Py_ssize_t count;
    if (!PyArg_ParseTuple(argv, "O!nO!O!O!OO", &PyTuple_Type, &launches, &count,
                          &PyList_Type, &steps, &PyType_Type, &step, &PyList_Type, &now,
                          &what, &transfers))
        return NULL;
    if (!PyType_IsSubtype(step, &PyTuple_Type) || PyList_GET_SIZE(now) < 1
        || !entries_valid(launches)) {
        PyErr_SetString(PyExc_TypeError, "repeat: launches of (Launcher, args, stmt, "
                        "span, device, decision), a Step tuple class and a list [stmt]");
        return NULL;
    }
    int64_t held = now_ns();  /* since when this loop has held the GIL */
    for (Py_ssize_t i = 0; i < count; i++) {
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(launches); j++) {
            PyObject *e = PyTuple_GET_ITEM(launches, j);
            if (PyErr_CheckSignals() < 0) return NULL;  /* before launch (i, j) */
            PyList_SetItem(now, 0, Py_NewRef(PyTuple_GET_ITEM(e, 2)));
            int64_t t0 = now_ns();
            int r = launch((Launcher *)PyTuple_GET_ITEM(e, 0), PyTuple_GET_ITEM(e, 1), 1);
            int64_t t1 = now_ns();
            PyList_SetItem(now, 0, Py_NewRef(Py_None));
            if (r < 0) return NULL;
            if (r != LAUNCHED) return Py_BuildValue("nni", i, j, r);
            PyObject *fields[6] = {PyTuple_GET_ITEM(e, 3), what, PyTuple_GET_ITEM(e, 4),
                                   NULL, transfers, PyTuple_GET_ITEM(e, 5)};
            PyObject *s = new_step(step, fields, t1 - t0);
            if (s == NULL) return NULL;
            int failed = PyList_Append(steps, s);
            Py_DECREF(s);
            if (failed) return NULL;
            if (t1 - held > SWITCH_NS) {  /* let other threads run, as the interpreter does */
                Py_BEGIN_ALLOW_THREADS
                Py_END_ALLOW_THREADS
                held = now_ns();
            }
        }
    }
    return Py_BuildValue("nni", count, (Py_ssize_t)0, LAUNCHED);
}

#endif
