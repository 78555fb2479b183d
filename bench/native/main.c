/*
 * main.c - the host bench (x86-64). Built and run by bench/native.ts:
 *
 *   wsbench check                 every job's output against the stock C row (send: identical
 *                                 frames; receive: identical deliveries; UTF-8: same verdict;
 *                                 the invalid text: see check_invalid_recv in jobs.c)
 *   wsbench count                 under valgrind --tool=callgrind --collect-atstart=no
 *                                 --combine-dumps=yes: each job is run once to warm up, then `reps`
 *                                 times between two CALLGRIND_TOGGLE_COLLECT, then the counters are
 *                                 dumped with the job as the dump's label
 *   wsbench time <samples>        wall clock: per (path, input, size) the rows take turns
 *                                 (round-robin), each sample ~1 ms; prints the median and quartiles
 *   wsbench one <path> <row> <input> <size> <reps>
 *                                 one job, collected (for callgrind_annotate profiles)
 *   wsbench heap <wasm3|wasm2c> <conns> <buf> <ev_cap> <mem_limit> <stack>
 *                                 heap bytes live after each instantiation step
 *
 * Output lines are tab-separated records for the driver; anything else is diagnostics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <valgrind/callgrind.h>

#include "wsbench.h"

static const uint32_t SIZES[] = { 16, 125, 126, 1024, 65535, 65536, 1u << 20 };
enum { NSIZES = sizeof SIZES / sizeof SIZES[0] };

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], s) == 0) {
            return i;
        }
    }
    fprintf(stderr, "unknown name %s\n", s);
    exit(2);
}

/* Calls f(job) for every job of the bench. */
static void each_job(void (*f)(const job_t *, void *), void *ctx)
{
    for (int p = 0; p < PATH_COUNT; p++) {
        for (int in = 0; in < IN_COUNT; in++) {
            for (int s = 0; s < NSIZES; s++) {
                if (p == PATH_RECV32 && s > 0) {
                    break;
                }
                for (int r = 0; r < ROW_COUNT; r++) {
                    job_t j = { (path_t)p, (row_t)r, (input_t)in, SIZES[s] };
                    if (job_applies(&j)) {
                        f(&j, ctx);
                    }
                }
            }
        }
    }
}

static void check_one(const job_t *j, void *ctx)
{
    int *fails = ctx;
    if (job_check(j) != 0) {
        (*fails)++;
    }
    fails[1]++;
}

static long count_reps(const job_t *j)
{
    long r = (long)(65536 / job_bytes(j));
    return r < 1 ? 1 : r > 16 ? 16 : r;
}

/* Work between runs that is not part of the figure: collection off during it. */
static void cg_unmeasured(int begin)
{
    (void)begin;
    CALLGRIND_TOGGLE_COLLECT;
}

static void count_one(const job_t *j, void *ctx)
{
    (void)ctx;
    long reps = count_reps(j);
    job_prepare(j);
    job_run(j, 1);
    wsb_unmeasured = cg_unmeasured;
    CALLGRIND_TOGGLE_COLLECT;
    job_run(j, reps);
    CALLGRIND_TOGGLE_COLLECT;
    wsb_unmeasured = NULL;
    char label[128];
    snprintf(label, sizeof label, "job %s %s %s %u %ld", path_name[j->path], row_name[j->row], input_name[j->input],
             (unsigned)j->size, reps);
    CALLGRIND_DUMP_STATS_AT(label);
    printf("%s\t%u\n", label, (unsigned)job_bytes(j));
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(const double *sorted, int n, double q)
{
    double pos = (n - 1) * q;
    int lo = (int)pos;
    int hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

static double s_paused_ns, s_pause_t0;

/* Work between runs that is not part of the figure: its time is taken off the sample. */
static void clock_unmeasured(int begin)
{
    if (begin) {
        s_pause_t0 = now_ns();
    } else {
        s_paused_ns += now_ns() - s_pause_t0;
    }
}

static void time_jobs(int samples)
{
    for (int p = 0; p < PATH_COUNT; p++) {
        for (int in = 0; in < IN_COUNT; in++) {
            for (int s = 0; s < NSIZES; s++) {
                if (p == PATH_RECV32 && s > 0) {
                    break;
                }
                job_t jobs[ROW_COUNT];
                long reps[ROW_COUNT];
                int n = 0;
                for (int r = 0; r < ROW_COUNT; r++) {
                    job_t j = { (path_t)p, (row_t)r, (input_t)in, SIZES[s] };
                    if (!job_applies(&j)) {
                        continue;
                    }
                    /* calibrate: reps so one sample takes about 1 ms */
                    job_prepare(&j);
                    job_run(&j, 2);
                    long k = 1;
                    for (;;) {
                        double t0 = now_ns();
                        job_run(&j, k);
                        double dt = now_ns() - t0;
                        if (dt > 250e3 || k >= (1L << 22)) {
                            reps[n] = (long)(k * 1e6 / (dt > 1 ? dt : 1));
                            if (reps[n] < 1) {
                                reps[n] = 1;
                            }
                            break;
                        }
                        k *= 4;
                    }
                    jobs[n++] = j;
                }
                double *t = malloc(sizeof(double) * (size_t)(n * samples));
                for (int i = 0; i < samples; i++) {
                    for (int r = 0; r < n; r++) {
                        job_prepare(&jobs[r]);   /* the engines share one instance per runtime */
                        s_paused_ns = 0;
                        wsb_unmeasured = clock_unmeasured;
                        double t0 = now_ns();
                        job_run(&jobs[r], reps[r]);
                        double t1 = now_ns();
                        wsb_unmeasured = NULL;
                        t[r * samples + i] = (t1 - t0 - s_paused_ns) / (double)reps[r];
                    }
                }
                for (int r = 0; r < n; r++) {
                    double *x = t + r * samples;
                    qsort(x, (size_t)samples, sizeof *x, cmp_double);
                    printf("time %s %s %s %u\t%u\t%.3f\t%.3f\t%.3f\n", path_name[jobs[r].path], row_name[jobs[r].row],
                           input_name[jobs[r].input], (unsigned)jobs[r].size, (unsigned)job_bytes(&jobs[r]),
                           quantile(x, samples, 0.5), quantile(x, samples, 0.25), quantile(x, samples, 0.75));
                }
                fflush(stdout);
                free(t);
            }
        }
    }
}

static void heap_step(const char *step)
{
    printf("heap\t%s\t%zu\t%zu\t%zu\n", step, heap_live, heap_peak, heap_blocks);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s check | count | time <samples> | one <path> <row> <input> <size> <reps> | heap ...\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    if (strcmp(mode, "heap") == 0) {
        if (argc != 8) {
            fprintf(stderr, "heap <wasm3|wasm2c> <conns> <buf> <ev_cap> <mem_limit> <stack>\n");
            return 2;
        }
        eng_kind_t kind = strcmp(argv[2], "wasm3") == 0 ? ENG_WASM3 : ENG_WASM2C;
        if (!eng_available(kind)) {
            printf("skip: built without wasm3\n");
            return 0;
        }
        eng_step_hook = heap_step;
        heap_step("start");
        eng_t *e = eng_open(kind, (uint32_t)atol(argv[3]), (uint32_t)atol(argv[4]), (uint32_t)atol(argv[5]),
                            (uint32_t)atol(argv[6]), (uint32_t)atol(argv[7]));
        return e == NULL;
    }
    if (jobs_init(1u << 20, 2048) != 0) {   /* the component's WS_ENGINE_STACK_BYTES */
        return 1;
    }
    if (strcmp(mode, "check") == 0) {
        int fails[2] = { 0, 0 };
        each_job(check_one, fails);
        printf("checked\t%d\t%d\n", fails[1], fails[0]);
        return fails[0] != 0;
    }
    if (strcmp(mode, "count") == 0) {
        each_job(count_one, NULL);
        return 0;
    }
    if (strcmp(mode, "time") == 0 && argc == 3) {
        time_jobs(atoi(argv[2]));
        return 0;
    }
    if (strcmp(mode, "one") == 0 && argc == 7) {
        job_t j = { (path_t)lookup(path_name, PATH_COUNT, argv[2]), (row_t)lookup(row_name, ROW_COUNT, argv[3]),
                    (input_t)lookup(input_name, IN_COUNT, argv[4]), (uint32_t)atol(argv[5]) };
        if (!job_applies(&j)) {
            fprintf(stderr, "job does not apply\n");
            return 2;
        }
        long reps = atol(argv[6]);
        job_prepare(&j);
        job_run(&j, 1);
        wsb_unmeasured = cg_unmeasured;
        CALLGRIND_TOGGLE_COLLECT;
        job_run(&j, reps);
        CALLGRIND_TOGGLE_COLLECT;
        wsb_unmeasured = NULL;
        return 0;
    }
    fprintf(stderr, "bad arguments\n");
    return 2;
}
