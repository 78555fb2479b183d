/*
 * host_park.h - private to the POSIX port: the parking table. The waits of tasks, mutexes, signals
 * (ws_port_posix.c) and event-loop queues (esp_event_host.c) sleep on one of a fixed set of static
 * mutex + condition variable pairs, picked by the object's address, instead of carrying a pair
 * each (88 bytes and more per object, several objects per client).
 *
 * Rules for every user: a pair may serve several objects, so a wake-up is always a broadcast and
 * every waiter re-checks its own condition; a pair's mutex is held only around the bookkeeping of
 * one object, never while another pair's is taken and never across a call that may wait or run
 * user code (handlers). The condition variables run on CLOCK_MONOTONIC.
 */
#ifndef WS_HOST_PARK_H
#define WS_HOST_PARK_H

#include <pthread.h>

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
} ws_park_t;

/* The pair that serves `obj` (initialised on first use). */
ws_park_t *ws_park_of(const void *obj);

#endif /* WS_HOST_PARK_H */
