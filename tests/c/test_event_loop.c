/*
 * test_event_loop.c - the host esp_event implementation against ESP-IDF's documented behaviour
 * (the subset stated in port/posix/include/esp_event.h).
 */
#define _GNU_SOURCE
#include "esp_event.h"
#include "ws_port.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

ESP_EVENT_DEFINE_BASE(BASE_A);
ESP_EVENT_DEFINE_BASE(BASE_B);

/* A record of handler calls: who was called, with what. */
typedef struct {
    char tag;
    esp_event_base_t base;
    int32_t id;
    void *arg;
    void *data;
    int value;                /* first int of the data, read during the call */
} call_t;

static call_t s_calls[64];
static int s_ncalls;

static void reset_calls(void)
{
    memset(s_calls, 0, sizeof(s_calls));
    s_ncalls = 0;
}

/* The handler argument points at a char tag ('a', 'b', ...). */
static void recorder(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    if (s_ncalls < 64) {
        s_calls[s_ncalls] = (call_t){ *(const char *)arg, base, id, arg, data, data ? *(int *)data : -1 };
        s_ncalls++;
    }
}

static void recorder2(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    recorder(arg, base, id, data);
}

static void recorder3(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    recorder(arg, base, id, data);
}

static esp_event_loop_handle_t make_loop(int32_t queue_size)
{
    esp_event_loop_args_t args = { .queue_size = queue_size, .task_name = NULL };
    esp_event_loop_handle_t loop = NULL;
    CHECK_EQ_INT(esp_event_loop_create(&args, &loop), ESP_OK);
    return loop;
}

static void handler_gets_its_arg_base_id_and_a_copy_of_the_data(void)
{
    reset_calls();
    esp_event_loop_handle_t loop = make_loop(4);
    static char tag = 'a';
    CHECK_EQ_INT(esp_event_handler_register_with(loop, BASE_A, 7, recorder, &tag), ESP_OK);
    int payload[4] = { 1234, 2, 3, 4 };
    CHECK_EQ_INT(esp_event_post_to(loop, BASE_A, 7, payload, sizeof(payload), 0), ESP_OK);
    payload[0] = 9999;          /* the queued event must not see this */
    CHECK_EQ_INT(esp_event_loop_run(loop, 0), ESP_OK);
    CHECK_EQ_INT(s_ncalls, 1);
    CHECK(s_calls[0].arg == &tag);
    CHECK(s_calls[0].base == BASE_A);
    CHECK_EQ_INT(s_calls[0].id, 7);
    CHECK(s_calls[0].data != NULL && s_calls[0].data != payload);
    CHECK_EQ_INT(s_calls[0].value, 1234);

    /* No data posted: the handler gets NULL. */
    CHECK_EQ_INT(esp_event_post_to(loop, BASE_A, 7, NULL, 0, 0), ESP_OK);
    CHECK_EQ_INT(esp_event_loop_run(loop, 0), ESP_OK);
    CHECK_EQ_INT(s_ncalls, 2);
    CHECK(s_calls[1].data == NULL);
    esp_event_loop_delete(loop);
}

static void unregistered_handler_is_not_called(void)
{
    reset_calls();
    esp_event_loop_handle_t loop = make_loop(4);
    static char a = 'a', b = 'b';
    esp_event_handler_register_with(loop, BASE_A, 1, recorder, &a);
    esp_event_handler_register_with(loop, BASE_A, 1, recorder2, &b);
    CHECK_EQ_INT(esp_event_handler_unregister_with(loop, BASE_A, 1, recorder), ESP_OK);
    esp_event_post_to(loop, BASE_A, 1, NULL, 0, 0);
    esp_event_loop_run(loop, 0);
    CHECK_EQ_INT(s_ncalls, 1);
    CHECK_EQ_INT(s_calls[0].tag, 'b');      /* the one still registered is called */
    /* Unregistering something never registered is not an error (as ESP-IDF). */
    CHECK_EQ_INT(esp_event_handler_unregister_with(loop, BASE_B, 5, recorder), ESP_OK);
    esp_event_loop_delete(loop);
}

static void any_id_and_any_base_handlers_match_as_documented(void)
{
    reset_calls();
    esp_event_loop_handle_t loop = make_loop(8);
    static char any_id = 'i', any_base = 'x', specific = 's';
    esp_event_handler_register_with(loop, BASE_A, ESP_EVENT_ANY_ID, recorder, &any_id);
    esp_event_handler_register_with(loop, ESP_EVENT_ANY_BASE, ESP_EVENT_ANY_ID, recorder2, &any_base);
    esp_event_handler_register_with(loop, BASE_A, 3, recorder3, &specific);
    esp_event_post_to(loop, BASE_A, 3, NULL, 0, 0);   /* all three */
    esp_event_post_to(loop, BASE_A, 4, NULL, 0, 0);   /* any_id + any_base */
    esp_event_post_to(loop, BASE_B, 3, NULL, 0, 0);   /* any_base only */
    esp_event_loop_run(loop, 50);
    CHECK_EQ_INT(s_ncalls, 6);
    int per_event[3] = { 0 };
    for (int i = 0; i < s_ncalls; i++) {
        if (s_calls[i].base == BASE_A && s_calls[i].id == 3) {
            per_event[0]++;
        } else if (s_calls[i].base == BASE_A && s_calls[i].id == 4) {
            per_event[1]++;
            CHECK(s_calls[i].tag != 's');
        } else {
            per_event[2]++;
            CHECK_EQ_INT(s_calls[i].tag, 'x');
        }
    }
    CHECK_EQ_INT(per_event[0], 3);
    CHECK_EQ_INT(per_event[1], 2);
    CHECK_EQ_INT(per_event[2], 1);
    /* A specific id under ANY_BASE is refused, as on ESP-IDF. */
    CHECK_EQ_INT(esp_event_handler_register_with(loop, ESP_EVENT_ANY_BASE, 3, recorder, &any_id), ESP_ERR_INVALID_ARG);
    esp_event_loop_delete(loop);
}

static void handlers_run_any_base_then_any_id_then_specific_in_registration_order(void)
{
    reset_calls();
    esp_event_loop_handle_t loop = make_loop(2);
    static char s1 = '1', i1 = '2', x1 = '3', s2 = '4', x2 = '5', i2 = '6';
    /* Registered in mixed order on purpose. */
    esp_event_handler_register_with(loop, BASE_A, 9, recorder, &s1);
    esp_event_handler_register_with(loop, BASE_A, ESP_EVENT_ANY_ID, recorder, &i1);
    esp_event_handler_register_with(loop, ESP_EVENT_ANY_BASE, ESP_EVENT_ANY_ID, recorder, &x1);
    esp_event_handler_register_with(loop, BASE_A, 9, recorder2, &s2);
    esp_event_handler_register_with(loop, ESP_EVENT_ANY_BASE, ESP_EVENT_ANY_ID, recorder2, &x2);
    esp_event_handler_register_with(loop, BASE_A, ESP_EVENT_ANY_ID, recorder2, &i2);
    esp_event_post_to(loop, BASE_A, 9, NULL, 0, 0);
    esp_event_loop_run(loop, 0);
    char order[8] = { 0 };
    for (int i = 0; i < s_ncalls && i < 7; i++) {
        order[i] = s_calls[i].tag;
    }
    CHECK(strcmp(order, "352614") == 0);
    if (strcmp(order, "352614") != 0) {
        fprintf(stderr, "  order was %s\n", order);
    }
    esp_event_loop_delete(loop);
}

static void registering_the_same_handler_again_replaces_its_arg(void)
{
    reset_calls();
    esp_event_loop_handle_t loop = make_loop(2);
    static char first = 'f', second = 's';
    esp_event_handler_register_with(loop, BASE_A, 1, recorder, &first);
    esp_event_handler_register_with(loop, BASE_A, 1, recorder, &second);
    esp_event_post_to(loop, BASE_A, 1, NULL, 0, 0);
    esp_event_loop_run(loop, 0);
    CHECK_EQ_INT(s_ncalls, 1);
    CHECK_EQ_INT(s_calls[0].tag, 's');
    /* Contrapositive: instance registration adds a second handler. */
    esp_event_handler_instance_t inst = NULL;
    CHECK_EQ_INT(esp_event_handler_instance_register_with(loop, BASE_A, 1, recorder, &first, &inst), ESP_OK);
    esp_event_post_to(loop, BASE_A, 1, NULL, 0, 0);
    esp_event_loop_run(loop, 0);
    CHECK_EQ_INT(s_ncalls, 3);
    CHECK_EQ_INT(esp_event_handler_instance_unregister_with(loop, BASE_A, 1, inst), ESP_OK);
    esp_event_post_to(loop, BASE_A, 1, NULL, 0, 0);
    esp_event_loop_run(loop, 0);
    CHECK_EQ_INT(s_ncalls, 4);
    esp_event_loop_delete(loop);
}

static void full_queue_refuses_post_and_run_zero_dispatches_one(void)
{
    reset_calls();
    esp_event_loop_handle_t loop = make_loop(2);
    static char t = 't';
    esp_event_handler_register_with(loop, BASE_A, ESP_EVENT_ANY_ID, recorder, &t);
    int v1 = 1, v2 = 2, v3 = 3;
    CHECK_EQ_INT(esp_event_post_to(loop, BASE_A, 1, &v1, sizeof(v1), 0), ESP_OK);
    CHECK_EQ_INT(esp_event_post_to(loop, BASE_A, 2, &v2, sizeof(v2), 0), ESP_OK);
    uint32_t t0 = ws_port_now_ms();
    CHECK_EQ_INT(esp_event_post_to(loop, BASE_A, 3, &v3, sizeof(v3), 50), ESP_ERR_TIMEOUT);
    CHECK((uint32_t)(ws_port_now_ms() - t0) >= 49);
    CHECK_EQ_INT(esp_event_loop_run(loop, 0), ESP_OK);    /* ESP-IDF: at most one with 0 ticks */
    CHECK_EQ_INT(s_ncalls, 1);
    CHECK_EQ_INT(s_calls[0].value, 1);
    CHECK_EQ_INT(esp_event_post_to(loop, BASE_A, 3, &v3, sizeof(v3), 0), ESP_OK);
    CHECK_EQ_INT(esp_event_loop_run(loop, 30), ESP_OK);   /* a time slice drains the queue */
    CHECK_EQ_INT(s_ncalls, 3);
    CHECK_EQ_INT(s_calls[1].value, 2);                    /* FIFO */
    CHECK_EQ_INT(s_calls[2].value, 3);
    CHECK_EQ_INT(esp_event_loop_run(loop, 0), ESP_OK);    /* empty: returns at once */
    CHECK_EQ_INT(s_ncalls, 3);
    esp_event_loop_delete(loop);
}

static void invalid_arguments_are_refused(void)
{
    esp_event_loop_args_t args = { .queue_size = 0 };
    esp_event_loop_handle_t loop = NULL;
    CHECK_EQ_INT(esp_event_loop_create(&args, &loop), ESP_ERR_INVALID_ARG);
    CHECK_EQ_INT(esp_event_loop_create(NULL, &loop), ESP_ERR_INVALID_ARG);
    loop = make_loop(1);
    CHECK_EQ_INT(esp_event_post_to(loop, BASE_A, ESP_EVENT_ANY_ID, NULL, 0, 0), ESP_ERR_INVALID_ARG);
    CHECK_EQ_INT(esp_event_post_to(loop, ESP_EVENT_ANY_BASE, 1, NULL, 0, 0), ESP_ERR_INVALID_ARG);
    CHECK_EQ_INT(esp_event_post_to(NULL, BASE_A, 1, NULL, 0, 0), ESP_ERR_INVALID_ARG);
    CHECK_EQ_INT(esp_event_handler_register_with(loop, BASE_A, 1, NULL, NULL), ESP_ERR_INVALID_ARG);
    CHECK_EQ_INT(esp_event_loop_run(NULL, 0), ESP_ERR_INVALID_ARG);
    esp_event_loop_delete(loop);
}

/* -- changes during dispatch ---------------------------------------------------------------- */

static esp_event_loop_handle_t s_loop;

static void unregisters_itself(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    recorder(arg, base, id, data);
    esp_event_handler_unregister_with(s_loop, BASE_A, 1, unregisters_itself);
}

static void registers_another(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    static char late = 'l';
    recorder(arg, base, id, data);
    esp_event_handler_register_with(s_loop, BASE_A, 1, recorder3, &late);
}

static void handlers_may_change_registrations_during_dispatch(void)
{
    reset_calls();
    s_loop = make_loop(2);
    static char u = 'u', r = 'r', k = 'k';
    esp_event_handler_register_with(s_loop, BASE_A, 1, unregisters_itself, &u);
    esp_event_handler_register_with(s_loop, BASE_A, 1, registers_another, &r);
    esp_event_handler_register_with(s_loop, BASE_A, 1, recorder, &k);
    esp_event_post_to(s_loop, BASE_A, 1, NULL, 0, 0);
    esp_event_loop_run(s_loop, 0);
    /* First event: u (removes itself), r (adds l, not called now), k. */
    CHECK_EQ_INT(s_ncalls, 3);
    CHECK(s_ncalls == 3 && s_calls[0].tag == 'u' && s_calls[1].tag == 'r' && s_calls[2].tag == 'k');
    reset_calls();
    esp_event_handler_unregister_with(s_loop, BASE_A, 1, registers_another);
    esp_event_post_to(s_loop, BASE_A, 1, NULL, 0, 0);
    esp_event_loop_run(s_loop, 0);
    /* Second event: k, then l. u is gone. */
    CHECK_EQ_INT(s_ncalls, 2);
    CHECK(s_ncalls == 2 && s_calls[0].tag == 'k' && s_calls[1].tag == 'l');
    esp_event_loop_delete(s_loop);
}

/* -- threads --------------------------------------------------------------------------------- */

static atomic_bool s_in_slow_handler;
static atomic_int s_slow_calls;

static void slow_handler(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg; (void)base; (void)id; (void)data;
    atomic_store(&s_in_slow_handler, true);
    atomic_fetch_add(&s_slow_calls, 1);
    ws_port_sleep_ms(100);
    atomic_store(&s_in_slow_handler, false);
}

static void *dispatch_in_thread(void *arg)
{
    esp_event_loop_handle_t loop = arg;
    esp_event_loop_run(loop, 500);
    return NULL;
}

static void unregister_from_another_thread_waits_for_a_running_handler(void)
{
    esp_event_loop_handle_t loop = make_loop(4);
    atomic_store(&s_slow_calls, 0);
    esp_event_handler_register_with(loop, BASE_A, 1, slow_handler, NULL);
    esp_event_post_to(loop, BASE_A, 1, NULL, 0, 0);
    pthread_t th;
    pthread_create(&th, NULL, dispatch_in_thread, loop);
    while (!atomic_load(&s_in_slow_handler)) {
        ws_port_sleep_ms(1);
    }
    CHECK_EQ_INT(esp_event_handler_unregister_with(loop, BASE_A, 1, slow_handler), ESP_OK);
    CHECK(!atomic_load(&s_in_slow_handler));     /* returned only after the handler did */
    esp_event_post_to(loop, BASE_A, 1, NULL, 0, 0);
    pthread_join(th, NULL);
    CHECK_EQ_INT(atomic_load(&s_slow_calls), 1); /* not called again */
    esp_event_loop_delete(loop);
}

static atomic_int s_counted;

static void counter(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg; (void)base; (void)id; (void)data;
    atomic_fetch_add(&s_counted, 1);
}

typedef struct {
    esp_event_loop_handle_t loop;
    atomic_bool stop;
} churn_t;

static void *churn_registrations(void *arg)
{
    churn_t *c = arg;
    while (!atomic_load(&c->stop)) {
        esp_event_handler_register_with(c->loop, BASE_B, 2, counter, NULL);
        esp_event_handler_unregister_with(c->loop, BASE_B, 2, counter);
    }
    return NULL;
}

static void register_and_unregister_are_safe_against_concurrent_dispatch(void)
{
    /* Meant for the sanitizer build: a race here shows up as a TSan/ASan report or a crash. */
    churn_t c = { make_loop(4), false };
    atomic_store(&s_counted, 0);
    esp_event_handler_register_with(c.loop, BASE_A, 1, counter, NULL);
    pthread_t th;
    pthread_create(&th, NULL, churn_registrations, &c);
    for (int i = 0; i < 2000; i++) {
        esp_event_post_to(c.loop, BASE_A, 1, &i, sizeof(i), portMAX_DELAY);
        esp_event_post_to(c.loop, BASE_B, 2, &i, sizeof(i), portMAX_DELAY);
        esp_event_loop_run(c.loop, 0);
        esp_event_loop_run(c.loop, 0);
    }
    atomic_store(&c.stop, true);
    pthread_join(th, NULL);
    int counted = atomic_load(&s_counted);
    CHECK(counted >= 2000 && counted <= 4000);   /* BASE_A always, BASE_B when registered */
    esp_event_loop_delete(c.loop);
}

static ws_port_signal_t *s_handled;
static atomic_bool s_ran_on_main;
static pthread_t s_main_thread;

static void note_thread(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg; (void)base; (void)id; (void)data;
    atomic_store(&s_ran_on_main, pthread_equal(pthread_self(), s_main_thread));
    ws_port_signal_raise(s_handled);
}

static void loop_with_a_task_dispatches_in_its_own_thread(void)
{
    s_main_thread = pthread_self();
    ws_port_signal_create(&s_handled);
    esp_event_loop_args_t args = { .queue_size = 4, .task_name = "evt_task", .task_priority = 5,
                                   .task_stack_size = 4096, .task_core_id = 0 };
    esp_event_loop_handle_t loop = NULL;
    CHECK_EQ_INT(esp_event_loop_create(&args, &loop), ESP_OK);
    esp_event_handler_register_with(loop, BASE_A, 1, note_thread, NULL);
    atomic_store(&s_ran_on_main, true);
    CHECK_EQ_INT(esp_event_post_to(loop, BASE_A, 1, NULL, 0, portMAX_DELAY), ESP_OK);
    CHECK(ws_port_signal_wait(s_handled, 2000));
    CHECK(!atomic_load(&s_ran_on_main));
    CHECK_EQ_INT(esp_event_loop_delete(loop), ESP_OK);

    /* The default loop is such a loop. */
    CHECK_EQ_INT(esp_event_loop_create_default(), ESP_OK);
    CHECK_EQ_INT(esp_event_loop_create_default(), ESP_ERR_INVALID_STATE);
    CHECK_EQ_INT(esp_event_handler_register(BASE_B, 5, note_thread, NULL), ESP_OK);
    CHECK_EQ_INT(esp_event_post(BASE_B, 5, NULL, 0, portMAX_DELAY), ESP_OK);
    CHECK(ws_port_signal_wait(s_handled, 2000));
    CHECK_EQ_INT(esp_event_handler_unregister(BASE_B, 5, note_thread), ESP_OK);
    CHECK_EQ_INT(esp_event_post(BASE_B, 5, NULL, 0, portMAX_DELAY), ESP_OK);
    CHECK(!ws_port_signal_wait(s_handled, 100));      /* unregistered: nothing handled */
    CHECK_EQ_INT(esp_event_loop_delete_default(), ESP_OK);
    CHECK_EQ_INT(esp_event_post(BASE_B, 5, NULL, 0, 0), ESP_ERR_INVALID_STATE);
    ws_port_signal_destroy(s_handled);
}

int main(void)
{
    RUN(handler_gets_its_arg_base_id_and_a_copy_of_the_data);
    RUN(unregistered_handler_is_not_called);
    RUN(any_id_and_any_base_handlers_match_as_documented);
    RUN(handlers_run_any_base_then_any_id_then_specific_in_registration_order);
    RUN(registering_the_same_handler_again_replaces_its_arg);
    RUN(full_queue_refuses_post_and_run_zero_dispatches_one);
    RUN(invalid_arguments_are_refused);
    RUN(handlers_may_change_registrations_during_dispatch);
    RUN(unregister_from_another_thread_waits_for_a_running_handler);
    RUN(register_and_unregister_are_safe_against_concurrent_dispatch);
    RUN(loop_with_a_task_dispatches_in_its_own_thread);
    return check_finish();
}
