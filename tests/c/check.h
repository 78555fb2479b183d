/*
 * check.h - the assertions of the C unit tests (tests/c).
 *
 * Every CHECK counts; a failing one prints file:line and the expression (with both values for the
 * comparisons) and the test goes on, so one run reports every failure. Counters are atomic: client
 * event handlers run in the client's task. main() ends with `return check_finish();`.
 */
#ifndef TESTS_C_CHECK_H
#define TESTS_C_CHECK_H

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_int s_checks;
static atomic_int s_failures;

#define CHECK(cond) do {                                                                  \
        s_checks++;                                                                       \
        if (!(cond)) {                                                                    \
            s_failures++;                                                                 \
            fprintf(stderr, "  FAIL %s:%d (%s): %s\n", __FILE__, __LINE__, __func__, #cond); \
        }                                                                                 \
    } while (0)
#define CHECK_EQ_INT(a, b) do {                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                               \
        s_checks++;                                                                       \
        if (a_ != b_) {                                                                   \
            s_failures++;                                                                 \
            fprintf(stderr, "  FAIL %s:%d (%s): %s == %s (%lld != %lld)\n", __FILE__, __LINE__, \
                    __func__, #a, #b, a_, b_);                                            \
        }                                                                                 \
    } while (0)
#define CHECK_EQ(a, b) CHECK_EQ_INT(a, b)
#define CHECK_BETWEEN(v, lo, hi) do {                                                     \
        long long v_ = (long long)(v);                                                    \
        s_checks++;                                                                       \
        if (v_ < (long long)(lo) || v_ > (long long)(hi)) {                               \
            s_failures++;                                                                 \
            fprintf(stderr, "  FAIL %s:%d (%s): %s = %lld not in [%lld, %lld]\n", __FILE__, \
                    __LINE__, __func__, #v, v_, (long long)(lo), (long long)(hi));        \
        }                                                                                 \
    } while (0)
#define CHECK_STR(a, b) CHECK((a) != NULL && strcmp((a), (b)) == 0)
#define RUN(test) do { fprintf(stderr, "%s\n", #test); test(); } while (0)

/* Prints the totals; the process exit status. */
static inline int check_finish(void)
{
    int failures = atomic_load(&s_failures);
    printf("%d checks, %d failed\n", atomic_load(&s_checks), failures);
    return failures == 0 ? 0 : 1;
}

#endif /* TESTS_C_CHECK_H */
