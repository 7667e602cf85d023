/* host/pykernel's Kernel calls in C (included by native_call.c after the Launcher;
 * host/native_call.py pastes it in before building): the Dispatch type, and the
 * watch_events/watch_log functions its call reads.
 */
#ifndef PXOS_NATIVE_DISPATCH_H
#define PXOS_NATIVE_DISPATCH_H

/* -- host/pykernel's Kernel calls in C
 * A Kernel whose call signature went native becomes an instance of a subclass of Kernel
 * and Dispatch (its __class__ is set; Dispatch adds no field, so the layouts agree). Its
 * call looks up the launcher of the call's device= in the Kernel's _native dictionary
 * (device -> (launcher, plan)) and launches (recorded, under a profile whose launch log
 * noted the plan: the record names the user's line, and the profile's sampler gives a
 * sample during the launch the kernel's frame from the record's time). Where that
 * launcher does not take the call, one of the Kernel's native prepared device calls does,
 * with no listener or under a profile whose launch log noted it (device_call: CuPy
 * arrays). A call with other keywords, one a listener
 * would miss (pxos.events: a listener, unless a profile's launch log noted the plan), or
 * one neither launcher takes goes to Kernel._call, the Python path, which gives every
 * error as before; a fault goes to Kernel._native_fault(plan), which raises. */
static PyObject *events;  /* pxos.events's dictionary: LISTENERS, LAUNCHES */
static PyObject *s_native, *s_device, *s_call, *s_fault, *s_profiled, *s_listeners,
    *s_launches, *s_device_native, *s_decision;

enum { QUIET = 1, PROFILED = 2 };

static long log_serial;  /* the serial of the launch log recording now; 0: none (watch_log) */

/* how a native launch of launcher is seen as it should be: QUIET (no listener), PROFILED
   (the launch log recording now, events.LAUNCHES, noted its plan: the serials agree, a
   test of two integers where reading the plan's attribute cost about 10 ns a launch); 0:
   the Python path must serve it; -1: an error */
static int watched(Launcher *launcher)
{
    PyObject *listeners = events ? PyDict_GetItemWithError(events, s_listeners) : NULL;
    if (listeners == NULL) return PyErr_Occurred() ? -1 : 0;
    int busy = PyObject_IsTrue(listeners);
    if (busy <= 0) return busy < 0 ? -1 : QUIET;
    if (log_serial != 0 && PyList_CheckExact(listeners) && PyList_GET_SIZE(listeners) == 1)
        /* a launch log records (its profile's recorder is then the one listener, and
           events.LAUNCHES is that log: no look-up of it needed) */
        return launcher->noted == log_serial ? PROFILED : 0;
    PyObject *log = PyDict_GetItemWithError(events, s_launches);
    if (log == NULL || log == Py_None) return PyErr_Occurred() ? -1 : 0;
    return log_serial != 0 && launcher->noted == log_serial ? PROFILED : 0;
}

/* watch_log(serial): the serial of the launch log that records now (0: none) */
static PyObject *watch_log(PyObject *m, PyObject *serial)
{
    long v = PyLong_AsLong(serial);
    if (v == -1 && PyErr_Occurred()) return NULL;
    log_serial = v;
    Py_RETURN_NONE;
}

/* the (launcher, plan) entry of device (a new reference), or NULL (an error, or none) */
static PyObject *native_entry(PyObject *self, PyObject *device)
{
    if (device != Py_None && !PyUnicode_CheckExact(device)) return NULL;
    PyObject *table = PyObject_GetAttr(self, s_native);
    if (table == NULL) return NULL;
    PyObject *entry = PyDict_CheckExact(table) ? PyDict_GetItemWithError(table, device)
                                               : NULL;
    if (entry != NULL && (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 2
                          || !PyObject_TypeCheck(PyTuple_GET_ITEM(entry, 0),
                                                 &LauncherType)))
        entry = NULL;
    Py_XINCREF(entry);
    Py_DECREF(table);
    return entry;
}

/* make `said` the Kernel's decision (its instance attribute, a plain one: set in its
   __dict__, only where another one is there; SetAttr cost 25 ns a call on c): 0, or -1 */
static int set_decision(PyObject *self, PyObject *said)
{
    PyObject *dict = PyObject_GenericGetDict(self, NULL);
    if (dict == NULL) return -1;
    PyObject *now = PyDict_GetItemWithError(dict, s_decision);
    int r = now == said ? 0 : PyErr_Occurred() ? -1 : PyDict_SetItem(dict, s_decision, said);
    Py_DECREF(dict);
    return r;
}

/* the serial of the launch log recording now where it takes native launches
   (events.LAUNCHES is set: a profile, whose recorder is a listener), 0 where a listener
   must see the call, -1 an error */
static long profiling_log(void)
{
    if (log_serial == 0) return 0;
    PyObject *log = PyDict_GetItemWithError(events, s_launches);
    if (log == NULL) return PyErr_Occurred() ? -1 : 0;
    return log == Py_None ? 0 : log_serial;
}

/* one native prepared call entry (launcher, decision, …) tried on args: LAUNCHED (the
   decision becomes the Kernel's), NOT_TAKEN, or -1 an error */
static int try_device_entry(PyObject *self, PyObject *entry, PyObject *args, long serial)
{
    if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) < 2) return NOT_TAKEN;
    PyObject *r;
    if (serial) {  /* profiled: the launcher takes it only if that launch log noted it */
        PyObject *number = PyLong_FromLong(serial);
        PyObject *stack[2] = {args, number};
        r = number ? PyObject_Vectorcall(PyTuple_GET_ITEM(entry, 0), stack, 2, NULL) : NULL;
        Py_XDECREF(number);
    } else {
        r = PyObject_CallOneArg(PyTuple_GET_ITEM(entry, 0), args);
    }
    if (r == NULL) return -1;
    long v = PyLong_AsLong(r);
    Py_DECREF(r);
    if (v == LAUNCHED)
        return set_decision(self, PyTuple_GET_ITEM(entry, 1)) < 0 ? -1 : LAUNCHED;
    return v == -1 && PyErr_Occurred() ? -1 : NOT_TAKEN;
}

/* a call on device arrays through one of the Kernel's native prepared device calls
   (host/pykernel's _device_native[device]: a tuple of (launcher, decision, …) entries,
   the most recently used first, host/devicecall's remember; each launcher a
   host/native_device_call DeviceLauncher, which returns 0 launched or 1 not taken),
   tried in turn, with no listener, or under a profile whose launch log records native
   launches: then each launcher is called with the log's serial as well, takes the call
   only if that log noted it (else Kernel._call notes it first), and records it naming the
   running frame, the user's line. LAUNCHED, NOT_TAKEN, or -1 an error. (In C, the call on
   CuPy arrays skips Kernel.__call__'s Python frame: issue 14, at most CuPy's RawKernel;
   and a profiled one, issue 20, its half microsecond.) */
static int device_call(PyObject *self, PyObject *device, PyObject *args)
{
    PyObject *listeners = events ? PyDict_GetItemWithError(events, s_listeners) : NULL;
    if (listeners == NULL) return PyErr_Occurred() ? -1 : NOT_TAKEN;
    int busy = PyObject_IsTrue(listeners);
    long serial = busy > 0 ? profiling_log() : 0;
    if (busy < 0 || serial < 0) return -1;
    if (busy && serial == 0) return NOT_TAKEN;
    PyObject *table = PyObject_GetAttr(self, s_device_native);
    if (table == NULL) return -1;
    PyObject *entries = PyDict_CheckExact(table) ? PyDict_GetItemWithError(table, device)
                                                 : NULL;
    if (entries == NULL || !PyTuple_CheckExact(entries)) {
        Py_DECREF(table);
        return PyErr_Occurred() ? -1 : NOT_TAKEN;
    }
    Py_INCREF(entries);
    Py_DECREF(table);
    int out = NOT_TAKEN;
    for (Py_ssize_t i = 0; out == NOT_TAKEN && i < PyTuple_GET_SIZE(entries); i++)
        out = try_device_entry(self, PyTuple_GET_ITEM(entries, i), args, serial);
    Py_DECREF(entries);
    return out;
}

static PyObject *Dispatch_call(PyObject *self, PyObject *args, PyObject *kw)
{
    PyObject *device = Py_None;
    if (kw != NULL && PyDict_GET_SIZE(kw) != 0) {
        device = PyDict_GET_SIZE(kw) == 1 ? PyDict_GetItemWithError(kw, s_device) : NULL;
        if (device == NULL && PyErr_Occurred()) return NULL;
    }
    PyObject *entry = device ? native_entry(self, device) : NULL;
    if (entry == NULL && PyErr_Occurred()) return NULL;
    if (entry != NULL) {
        PyObject *plan = PyTuple_GET_ITEM(entry, 1);
        PyObject *launcher = PyTuple_GET_ITEM(entry, 0);
        int r = watched((Launcher *)launcher);
        r = r == QUIET || r == PROFILED ? launch((Launcher *)launcher, args, 0)
          : r < 0 ? -1 : NOT_TAKEN;
        PyObject *said = ((Launcher *)launcher)->said_now;  /* under auto: the decision */
        if (r == LAUNCHED && said != NULL && set_decision(self, said) < 0)
            r = -1;
        PyObject *out = r == LAUNCHED ? Py_NewRef(Py_None)
                      : r == FAULTED ? PyObject_CallMethodOneArg(self, s_fault, plan)
                      : NULL;
        Py_DECREF(entry);
        if (r != NOT_TAKEN) return out;
    }
    if (device != NULL) {
        int r = device_call(self, device, args);
        if (r < 0) return NULL;
        if (r == LAUNCHED) Py_RETURN_NONE;
    }
    PyObject *call = PyObject_GetAttr(self, s_call);
    if (call == NULL) return NULL;
    PyObject *out = PyObject_Call(call, args, kw);
    Py_DECREF(call);
    return out;
}

static PyTypeObject DispatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pxos_native_call.Dispatch",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "The call of a host/pykernel Kernel whose signature went native.",
    .tp_call = Dispatch_call,
};

/* watch_events(dictionary): pxos.events's module dictionary, read at every Kernel call */
static PyObject *watch_events(PyObject *m, PyObject *dict)
{
    if (!PyDict_Check(dict)) {
        PyErr_SetString(PyExc_TypeError, "watch_events takes pxos.events's __dict__");
        return NULL;
    }
    Py_XSETREF(events, Py_NewRef(dict));
    Py_RETURN_NONE;
}

#endif
