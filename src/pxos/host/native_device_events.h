/* CUDA events around profiled device launches: the event pool, which launches are timed,
 * and the recorded launch.
 * Included by native_device_call.c (host/native_call.py's build pastes it in). */
#ifndef PXOS_NATIVE_DEVICE_EVENTS_H
#define PXOS_NATIVE_DEVICE_EVENTS_H

/* CUDA events for profiled launches (cuEventCreate, cuEventRecord; set_event_driver) */
typedef int (*EventCreate)(void **event, unsigned flags);
typedef int (*EventRecord)(void *event, void *stream);
static EventCreate event_create;
static EventRecord event_record;
static void **spare;  /* events the profiler has read, ready to record again */
static Py_ssize_t nspare, cspare;

/* an event to record (from the spare pool, else a new one), or NULL */
static void *take_event(void)
{
    void *event = NULL;
    if (nspare) return spare[--nspare];
    if (event_create == NULL || event_create(&event, 0) != 0) return NULL;
    return event;
}

/* give an event back to the pool (dropped, not destroyed, where memory runs out) */
static void give_event(void *event)
{
    if (event == NULL) return;
    if (nspare == cspare) {
        Py_ssize_t want = cspare ? 2 * cspare : 1024;
        void **grown = PyMem_Realloc(spare, want * sizeof(void *));
        if (grown == NULL) return;
        spare = grown;
        cspare = want;
    }
    spare[nspare++] = event;
}

#define TIMED_FIRST 8         /* a launcher's first launches in a profile: all timed */
#define TIMED_GAP_NS 2000000  /* then one at most every 2 ms of the host's clock */
#define TIMED_GAP_EPOCHS 2    /* paced: one at most every 2 sampler periods */

/* whether this launch is timed by CUDA events. Recording two events costs the host a few
   microseconds (two driver calls), half as much again as a short launch (1.6x over 4,000
   launches of 6.8 us on the H200; 1.23x with the first 16 and one per 0.5 ms timed): a
   launcher's first TIMED_FIRST launches of a profile are timed, then one at most every
   TIMED_GAP_NS, which bounds what events cost to well under 1 % of the run whatever the
   launches; launches further apart are all timed. The others
   are recorded all the same (host clock, line) and given the timed launches' times after
   the run (lib/profile/counters). Paced by the profile's sampler (native_record.h), the
   gap is TIMED_GAP_EPOCHS sampler periods, and the others read no clock at all (their
   line and order only: placed between the timed ones). *start: ticks() now, or 0 where
   the launch reads no clock */
static int timed_launch(DeviceLauncher *self, int64_t *start)
{
    if (self->serial != record_serial) {
        self->serial = record_serial;
        self->recorded = 0;
    }
    if (paced) {
        int timed = self->recorded++ < TIMED_FIRST
                    || epoch - self->timed_epoch >= TIMED_GAP_EPOCHS;
        if (timed) self->timed_epoch = epoch;
        *start = timed ? ticks() : 0;
        return timed;
    }
    *start = ticks();
    int64_t now = tsc_ticks == 1 ? now_ns() : *start;  /* start: ticks(), the same clock */
    int timed = self->recorded++ < TIMED_FIRST || now - self->timed_at >= TIMED_GAP_NS;
    if (timed) self->timed_at = now;
    return timed;
}

/* launch, between two events recorded on stream where the profiler records and the launch
   is timed (timed_launch); the record gets the stream and events (0: not timed, or an
   event that could not be made or recorded) */
static int launch_recorded(DeviceLauncher *self, void *stream, int64_t start, int timed,
                           int back)
{
    void *events[2] = {NULL, NULL};
    if (event_record != NULL && timed) {
        events[0] = take_event();
        events[1] = take_event();
    }
    if (events[0] && event_record(events[0], stream) != 0) {
        give_event(events[0]);
        events[0] = NULL;
    }
    const unsigned *z = self->sizes;
    int status = self->launch_kernel(self->function, z[0], z[1], z[2], z[3], z[4], z[5], 0,
                                     stream, self->pointers, NULL);
    if (events[1] && (status != 0 || event_record(events[1], stream) != 0)) {
        give_event(events[1]);
        events[1] = NULL;
    }
    Record *r = status == 0 ? record_launch_from((PyObject *)self, start, back) : NULL;
    if (r == NULL || events[0] == NULL || events[1] == NULL) {
        give_event(events[0]);
        give_event(events[1]);
        events[0] = events[1] = NULL;
    }
    if (r != NULL) {
        r->stream = stream;
        r->events[0] = events[0];
        r->events[1] = events[1];
    }
    return status;
}

#endif  /* PXOS_NATIVE_DEVICE_EVENTS_H */
