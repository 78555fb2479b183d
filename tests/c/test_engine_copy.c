/*
 * test_engine_copy.c - ws_engine_copy_in (component/src/ws_engine_copy.h), the copy of the
 * caller's payload into the tx window, with its 32-bit word copy forced on this host: every
 * length 0..300 at every source and destination alignment 0..7 equals memcpy, no byte outside
 * the destination changes, and the source is read only inside [src, src + n) (each source is
 * its own exact-size allocation, so a sanitizer build sees any read past it).
 */
#define WS_ENGINE_COPY_WORDS 1
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ws_engine_copy.h"

enum { MAXLEN = 300, PAD = 16 };

static void test_copy_equals_memcpy_at_every_length_and_alignment(void)
{
    static uint8_t got[PAD + 8 + MAXLEN + PAD], want[PAD + 8 + MAXLEN + PAD];
    int bad = 0;
    for (size_t n = 0; n <= MAXLEN; n++) {
        for (size_t sa = 0; sa < 8; sa++) {
            uint8_t *block = malloc(sa + n + 1);   /* the source ends where the allocation ends */
            CHECK(block != NULL);
            if (block == NULL) {
                return;
            }
            uint8_t *src = block + sa;
            for (size_t i = 0; i < n; i++) {
                src[i] = (uint8_t)(i * 131 + n * 7 + sa + 1);
            }
            for (size_t da = 0; da < 8; da++) {
                memset(got, 0xa5, sizeof got);
                memset(want, 0xa5, sizeof want);
                ws_engine_copy_in(got + PAD + da, src, n);
                memcpy(want + PAD + da, src, n);
                if (memcmp(got, want, sizeof got) != 0) {
                    bad++;
                }
            }
            free(block);
        }
    }
    CHECK_EQ(bad, 0);
}

static void test_a_wrong_copy_is_detected(void)
{
    /* The comparison above can fail: one byte short leaves the destination's last byte alone. */
    uint8_t src[40], a[48], b[48];
    for (int i = 0; i < 40; i++) {
        src[i] = (uint8_t)(i + 1);
    }
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    ws_engine_copy_in(a + 2, src + 1, 38);
    memcpy(b + 2, src + 1, 39);
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK_EQ(a[2 + 38], 0);
    CHECK_EQ(b[2 + 38], 40);
}

int main(void)
{
    test_copy_equals_memcpy_at_every_length_and_alignment();
    test_a_wrong_copy_is_detected();
    return check_finish();
}
