/*
 * esp_event_host.c - a small implementation of ESP-IDF's esp_event API for the host build.
 *
 * One loop = a bounded queue of copied events + a list of handlers. Dispatch holds the loop's
 * (recursive) handler lock for the whole event, which gives the guarantees stated in esp_event.h:
 * handlers of one loop never run concurrently, a handler may (un)register on its own loop, and an
 * unregister from another thread returns only once that handler is no longer running.
 * Handlers removed during a dispatch are only marked dead and unlinked after it.
 */
#define _GNU_SOURCE
#include "esp_event.h"
#include "host_park.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct handler_node {
    struct handler_node *next;
    esp_event_base_t base;          /* ESP_EVENT_ANY_BASE (NULL) for loop-wide handlers */
    int32_t id;                     /* ESP_EVENT_ANY_ID for base-wide handlers */
    esp_event_handler_t fn;
    void *arg;
    uint64_t seq;                   /* registration order; also hides late registrations */
    bool legacy;                    /* registered without an instance handle */
    bool dead;                      /* unregistered during a dispatch; unlinked afterwards */
} handler_node_t;

typedef struct {
    esp_event_base_t base;
    int32_t id;
    void *data;                     /* malloc'd copy, or NULL */
} queued_event_t;

typedef struct event_loop {
    pthread_mutex_t handlers_mu;    /* recursive: handlers may register from inside dispatch */
    handler_node_t *handlers;
    uint64_t next_seq;
    int dispatch_depth;

    queued_event_t *queue;          /* queue, cap, head, count, stopping: under the stripe's mu */
    int32_t cap, head, count;

    bool has_thread;
    bool stopping;
    pthread_t thread;
} event_loop_t;

/* The queue's lock and its waits (not empty / not full) are the loop's pair of the POSIX port's
 * parking table (host_park.h), not fields of the loop (136 bytes per loop, one loop per client).
 * The pair's mutex is held only around queue bookkeeping, never while handlers run; a wake-up is
 * a broadcast, and every waiter re-checks its own condition. */

/* -- time helpers (1 tick = 1 ms) --------------------------------------------------------- */

static struct timespec abs_in_ms(uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000u);
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static bool passed(const struct timespec *until)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > until->tv_sec || (now.tv_sec == until->tv_sec && now.tv_nsec >= until->tv_nsec);
}

/* -- dispatch ------------------------------------------------------------------------------ */

/* Group 0: (ANY_BASE, ANY_ID); group 1: (base, ANY_ID); group 2: (base, id). */
static bool node_in_group(const handler_node_t *n, int group, esp_event_base_t base, int32_t id)
{
    switch (group) {
    case 0: return n->base == ESP_EVENT_ANY_BASE;
    case 1: return n->base == base && n->id == ESP_EVENT_ANY_ID;
    default: return n->base == base && n->id == id;
    }
}

static void purge_dead(event_loop_t *loop)
{
    handler_node_t **link = &loop->handlers;
    while (*link != NULL) {
        handler_node_t *n = *link;
        if (n->dead) {
            *link = n->next;
            free(n);
        } else {
            link = &n->next;
        }
    }
}

static void dispatch(event_loop_t *loop, const queued_event_t *ev)
{
    pthread_mutex_lock(&loop->handlers_mu);
    loop->dispatch_depth++;
    uint64_t visible_below = loop->next_seq;
    for (int group = 0; group < 3; group++) {
        for (handler_node_t *n = loop->handlers; n != NULL; n = n->next) {
            if (!n->dead && n->seq < visible_below && node_in_group(n, group, ev->base, ev->id)) {
                n->fn(n->arg, ev->base, ev->id, ev->data);
            }
        }
    }
    if (--loop->dispatch_depth == 0) {
        purge_dead(loop);
    }
    pthread_mutex_unlock(&loop->handlers_mu);
}

/* Takes one event, waiting until `until` (NULL: no bound). Returns false on timeout or stop. */
static bool take_event(event_loop_t *loop, const struct timespec *until, bool wait, queued_event_t *out)
{
    bool got = false;
    ws_park_t *ql = ws_park_of(loop);
    pthread_mutex_lock(&ql->mu);
    while (loop->count == 0 && !loop->stopping && wait) {
        if (until == NULL) {
            pthread_cond_wait(&ql->cv, &ql->mu);
        } else if (pthread_cond_timedwait(&ql->cv, &ql->mu, until) == ETIMEDOUT) {
            break;
        }
    }
    if (loop->count > 0 && !loop->stopping) {
        *out = loop->queue[loop->head];
        loop->head = (loop->head + 1) % loop->cap;
        loop->count--;
        pthread_cond_broadcast(&ql->cv);     /* not full */
        got = true;
    }
    pthread_mutex_unlock(&ql->mu);
    return got;
}

esp_err_t esp_event_loop_run(esp_event_loop_handle_t event_loop, TickType_t ticks_to_run)
{
    event_loop_t *loop = event_loop;
    if (loop == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (ticks_to_run == 0) {
        /* what the loop below does for 0 ticks (at most one event: the time is up after it),
         * without its two clock reads: the client task runs this once per event it posts */
        queued_event_t ev;
        if (take_event(loop, NULL, false, &ev)) {
            dispatch(loop, &ev);
            free(ev.data);
        }
        return ESP_OK;
    }
    bool forever = ticks_to_run == portMAX_DELAY;
    struct timespec until = abs_in_ms(forever ? 0 : ticks_to_run);
    for (;;) {
        queued_event_t ev;
        if (!take_event(loop, forever ? NULL : &until, forever || ticks_to_run > 0, &ev)) {
            break;
        }
        dispatch(loop, &ev);
        free(ev.data);
        if (!forever && passed(&until)) {
            break;
        }
    }
    return ESP_OK;
}

static void *loop_thread(void *arg)
{
    event_loop_t *loop = arg;
    queued_event_t ev;
    while (take_event(loop, NULL, true, &ev)) {
        dispatch(loop, &ev);
        free(ev.data);
    }
    return NULL;
}

/* -- create / delete ----------------------------------------------------------------------- */

esp_err_t esp_event_loop_create(const esp_event_loop_args_t *event_loop_args, esp_event_loop_handle_t *event_loop)
{
    if (event_loop_args == NULL || event_loop == NULL || event_loop_args->queue_size <= 0) {
        return ESP_ERR_INVALID_ARG;
    }
    event_loop_t *loop = calloc(1, sizeof(*loop));
    queued_event_t *queue = calloc((size_t)event_loop_args->queue_size, sizeof(*queue));
    if (loop == NULL || queue == NULL) {
        free(loop);
        free(queue);
        return ESP_ERR_NO_MEM;
    }
    loop->queue = queue;
    loop->cap = event_loop_args->queue_size;

    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&loop->handlers_mu, &ma);
    pthread_mutexattr_destroy(&ma);

    if (event_loop_args->task_name != NULL) {
        if (pthread_create(&loop->thread, NULL, loop_thread, loop) != 0) {
            esp_event_loop_delete(loop);
            return ESP_FAIL;
        }
        char name[16];
        snprintf(name, sizeof(name), "%s", event_loop_args->task_name);
        pthread_setname_np(loop->thread, name);
        loop->has_thread = true;
    }
    *event_loop = loop;
    return ESP_OK;
}

esp_err_t esp_event_loop_delete(esp_event_loop_handle_t event_loop)
{
    event_loop_t *loop = event_loop;
    if (loop == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    ws_park_t *ql = ws_park_of(loop);
    pthread_mutex_lock(&ql->mu);
    loop->stopping = true;
    pthread_cond_broadcast(&ql->cv);
    pthread_mutex_unlock(&ql->mu);
    if (loop->has_thread) {
        pthread_join(loop->thread, NULL);
    }
    for (int32_t i = 0; i < loop->count; i++) {
        free(loop->queue[(loop->head + i) % loop->cap].data);
    }
    handler_node_t *n = loop->handlers;
    while (n != NULL) {
        handler_node_t *next = n->next;
        free(n);
        n = next;
    }
    pthread_mutex_destroy(&loop->handlers_mu);
    free(loop->queue);
    free(loop);
    return ESP_OK;
}

/* -- handlers ------------------------------------------------------------------------------ */

static esp_err_t add_handler(event_loop_t *loop, esp_event_base_t base, int32_t id, esp_event_handler_t fn,
                             void *arg, bool legacy, handler_node_t **node_out)
{
    if (loop == NULL || fn == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (base == ESP_EVENT_ANY_BASE && id != ESP_EVENT_ANY_ID) {
        return ESP_ERR_INVALID_ARG;   /* as ESP-IDF: a specific id needs a specific base */
    }
    pthread_mutex_lock(&loop->handlers_mu);
    handler_node_t **link = &loop->handlers;
    for (; *link != NULL; link = &(*link)->next) {
        handler_node_t *n = *link;
        if (legacy && n->legacy && !n->dead && n->base == base && n->id == id && n->fn == fn) {
            n->arg = arg;             /* same handler again: only the argument changes */
            pthread_mutex_unlock(&loop->handlers_mu);
            return ESP_OK;
        }
    }
    handler_node_t *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        pthread_mutex_unlock(&loop->handlers_mu);
        return ESP_ERR_NO_MEM;
    }
    n->base = base;
    n->id = id;
    n->fn = fn;
    n->arg = arg;
    n->legacy = legacy;
    n->seq = loop->next_seq++;
    *link = n;
    if (node_out != NULL) {
        *node_out = n;
    }
    pthread_mutex_unlock(&loop->handlers_mu);
    return ESP_OK;
}

static void drop_node(event_loop_t *loop, handler_node_t *target)
{
    if (loop->dispatch_depth > 0) {
        target->dead = true;
        return;
    }
    for (handler_node_t **link = &loop->handlers; *link != NULL; link = &(*link)->next) {
        if (*link == target) {
            *link = target->next;
            free(target);
            return;
        }
    }
}

esp_err_t esp_event_handler_register_with(esp_event_loop_handle_t event_loop, esp_event_base_t event_base,
                                          int32_t event_id, esp_event_handler_t event_handler,
                                          void *event_handler_arg)
{
    return add_handler(event_loop, event_base, event_id, event_handler, event_handler_arg, true, NULL);
}

esp_err_t esp_event_handler_unregister_with(esp_event_loop_handle_t event_loop, esp_event_base_t event_base,
                                            int32_t event_id, esp_event_handler_t event_handler)
{
    event_loop_t *loop = event_loop;
    if (loop == NULL || event_handler == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (event_base == ESP_EVENT_ANY_BASE && event_id != ESP_EVENT_ANY_ID) {
        return ESP_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&loop->handlers_mu);
    for (handler_node_t *n = loop->handlers; n != NULL; n = n->next) {
        if (n->legacy && !n->dead && n->base == event_base && n->id == event_id && n->fn == event_handler) {
            drop_node(loop, n);
            break;
        }
    }
    pthread_mutex_unlock(&loop->handlers_mu);
    return ESP_OK;
}

esp_err_t esp_event_handler_instance_register_with(esp_event_loop_handle_t event_loop, esp_event_base_t event_base,
                                                   int32_t event_id, esp_event_handler_t event_handler,
                                                   void *event_handler_arg, esp_event_handler_instance_t *instance)
{
    handler_node_t *node = NULL;
    esp_err_t err = add_handler(event_loop, event_base, event_id, event_handler, event_handler_arg, false, &node);
    if (err == ESP_OK && instance != NULL) {
        *instance = node;
    }
    return err;
}

esp_err_t esp_event_handler_instance_unregister_with(esp_event_loop_handle_t event_loop, esp_event_base_t event_base,
                                                     int32_t event_id, esp_event_handler_instance_t instance)
{
    event_loop_t *loop = event_loop;
    if (loop == NULL || instance == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&loop->handlers_mu);
    for (handler_node_t *n = loop->handlers; n != NULL; n = n->next) {
        if (n == instance && !n->dead && n->base == event_base && n->id == event_id) {
            drop_node(loop, n);
            break;
        }
    }
    pthread_mutex_unlock(&loop->handlers_mu);
    return ESP_OK;
}

/* -- posting ------------------------------------------------------------------------------- */

esp_err_t esp_event_post_to(esp_event_loop_handle_t event_loop, esp_event_base_t event_base, int32_t event_id,
                            const void *event_data, size_t event_data_size, TickType_t ticks_to_wait)
{
    event_loop_t *loop = event_loop;
    if (loop == NULL || event_base == ESP_EVENT_ANY_BASE || event_id == ESP_EVENT_ANY_ID) {
        return ESP_ERR_INVALID_ARG;
    }
    void *copy = NULL;
    if (event_data != NULL && event_data_size > 0) {
        copy = malloc(event_data_size);
        if (copy == NULL) {
            return ESP_ERR_NO_MEM;
        }
        memcpy(copy, event_data, event_data_size);
    }
    bool forever = ticks_to_wait == portMAX_DELAY;
    /* the clock only for a bounded wait: 0 ticks (the client's posts) never waits */
    struct timespec until = { 0, 0 };
    if (!forever && ticks_to_wait > 0) {
        until = abs_in_ms(ticks_to_wait);
    }
    ws_park_t *ql = ws_park_of(loop);
    pthread_mutex_lock(&ql->mu);
    while (loop->count == loop->cap && !loop->stopping) {
        if (forever) {
            pthread_cond_wait(&ql->cv, &ql->mu);
        } else if (ticks_to_wait == 0 ||
                   pthread_cond_timedwait(&ql->cv, &ql->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    if (loop->count == loop->cap || loop->stopping) {
        pthread_mutex_unlock(&ql->mu);
        free(copy);
        return ESP_ERR_TIMEOUT;
    }
    loop->queue[(loop->head + loop->count) % loop->cap] = (queued_event_t){ event_base, event_id, copy };
    loop->count++;
    pthread_cond_broadcast(&ql->cv);     /* not empty */
    pthread_mutex_unlock(&ql->mu);
    return ESP_OK;
}

/* -- default loop -------------------------------------------------------------------------- */

static pthread_mutex_t s_default_mu = PTHREAD_MUTEX_INITIALIZER;
static esp_event_loop_handle_t s_default_loop;

esp_err_t esp_event_loop_create_default(void)
{
    pthread_mutex_lock(&s_default_mu);
    esp_err_t err = ESP_ERR_INVALID_STATE;
    if (s_default_loop == NULL) {
        esp_event_loop_args_t args = { .queue_size = 32, .task_name = "sys_evt", .task_priority = 20,
                                       .task_stack_size = 2304, .task_core_id = 0 };
        err = esp_event_loop_create(&args, &s_default_loop);
    }
    pthread_mutex_unlock(&s_default_mu);
    return err;
}

esp_err_t esp_event_loop_delete_default(void)
{
    pthread_mutex_lock(&s_default_mu);
    esp_event_loop_handle_t loop = s_default_loop;
    s_default_loop = NULL;
    pthread_mutex_unlock(&s_default_mu);
    return loop == NULL ? ESP_ERR_INVALID_STATE : esp_event_loop_delete(loop);
}

static esp_event_loop_handle_t default_loop(void)
{
    pthread_mutex_lock(&s_default_mu);
    esp_event_loop_handle_t loop = s_default_loop;
    pthread_mutex_unlock(&s_default_mu);
    return loop;
}

esp_err_t esp_event_handler_register(esp_event_base_t event_base, int32_t event_id,
                                     esp_event_handler_t event_handler, void *event_handler_arg)
{
    esp_event_loop_handle_t loop = default_loop();
    return loop == NULL ? ESP_ERR_INVALID_STATE
                        : esp_event_handler_register_with(loop, event_base, event_id, event_handler, event_handler_arg);
}

esp_err_t esp_event_handler_unregister(esp_event_base_t event_base, int32_t event_id,
                                       esp_event_handler_t event_handler)
{
    esp_event_loop_handle_t loop = default_loop();
    return loop == NULL ? ESP_ERR_INVALID_STATE
                        : esp_event_handler_unregister_with(loop, event_base, event_id, event_handler);
}

esp_err_t esp_event_handler_instance_register(esp_event_base_t event_base, int32_t event_id,
                                              esp_event_handler_t event_handler, void *event_handler_arg,
                                              esp_event_handler_instance_t *instance)
{
    esp_event_loop_handle_t loop = default_loop();
    return loop == NULL ? ESP_ERR_INVALID_STATE
                        : esp_event_handler_instance_register_with(loop, event_base, event_id, event_handler,
                                                                   event_handler_arg, instance);
}

esp_err_t esp_event_handler_instance_unregister(esp_event_base_t event_base, int32_t event_id,
                                                esp_event_handler_instance_t instance)
{
    esp_event_loop_handle_t loop = default_loop();
    return loop == NULL ? ESP_ERR_INVALID_STATE
                        : esp_event_handler_instance_unregister_with(loop, event_base, event_id, instance);
}

esp_err_t esp_event_post(esp_event_base_t event_base, int32_t event_id, const void *event_data,
                         size_t event_data_size, TickType_t ticks_to_wait)
{
    esp_event_loop_handle_t loop = default_loop();
    return loop == NULL ? ESP_ERR_INVALID_STATE
                        : esp_event_post_to(loop, event_base, event_id, event_data, event_data_size, ticks_to_wait);
}
