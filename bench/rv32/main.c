/*
 * main.c - the rv32imc bench: bench/native's jobs run bare-metal on
 * `qemu-system-riscv32 -M virt -bios none -icount shift=0`, counted with the minstret CSR (retired
 * instructions) read right before and right after the measured runs. Built and run by
 * bench/rv32.ts with riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32 and picolibc.
 *
 * Output goes to the virt machine's 16550 UART at 0x10000000; the program ends by writing the
 * SiFive test finisher at 0x100000 (0x5555 = pass, code << 16 | 0x3333 = fail), which stops qemu.
 *
 * Lines (tab-separated, for the driver):
 *   job <path> <row> <input> <size> <reps>  <bytes>  <instructions of reps runs>
 *   heap <config> <step> <live> <peak> <blocks>
 *   checked <jobs> <failures>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_engine_abi.h"
#include "wsbench.h"

/* ---- bare-metal I/O ---- */

#define UART0 ((volatile uint8_t *)0x10000000u)
#define FINISHER ((volatile uint32_t *)0x100000u)

static int uart_putc(char c, FILE *f)
{
    (void)f;
    while ((UART0[5] & 0x20) == 0) {
        /* wait for the transmit holding register (LSR.THRE) */
    }
    UART0[0] = (uint8_t)c;
    return (unsigned char)c;
}

static FILE s_uart = FDEV_SETUP_STREAM(uart_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdout = &s_uart;
FILE *const stderr = &s_uart;
FILE *const stdin = &s_uart;

void _exit(int code)
{
    *FINISHER = code == 0 ? 0x5555u : ((uint32_t)code << 16) | 0x3333u;
    for (;;) {
    }
}

/* abort() -> raise() -> kill(getpid(), SIGABRT): end the run with the signal as the failure code. */
int getpid(void);
int kill(int pid, int sig);
int getpid(void)
{
    return 1;
}
int kill(int pid, int sig)
{
    (void)pid;
    printf("killed by signal %d\n", sig);
    _exit(128 + sig);
}

/* Any exception (e.g. a bad memory access) ends the run with its cause instead of hanging. */
__attribute__((interrupt("machine"), aligned(4))) static void trap_handler(void)
{
    uint32_t cause, epc, tval, ra;
    __asm__ volatile("mv %0, ra" : "=r"(ra));   /* the interrupted code's return address */
    __asm__ volatile("csrr %0, mcause" : "=r"(cause));
    __asm__ volatile("csrr %0, mepc" : "=r"(epc));
    __asm__ volatile("csrr %0, mtval" : "=r"(tval));
    printf("trap: mcause %lu mepc 0x%08lx mtval 0x%08lx ra 0x%08lx\n", (unsigned long)cause, (unsigned long)epc,
           (unsigned long)tval, (unsigned long)ra);
    _exit(3);
}

static inline uint32_t minstret_lo(void)
{
    uint32_t v;
    __asm__ volatile("csrr %0, minstret" : "=r"(v));
    return v;
}

/* 64-bit minstret (hi, lo, hi again until stable). */
static uint64_t minstret(void)
{
    uint32_t hi, lo, hi2;
    do {
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi));
        lo = minstret_lo();
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi2));
    } while (hi != hi2);
    return (uint64_t)hi << 32 | lo;
}

/* ---- jobs ---- */

static const uint32_t SIZES[] = { 16, 125, 126, 1024, 65535, 65536, 1u << 20 };
enum { NSIZES = sizeof SIZES / sizeof SIZES[0] };

static uint64_t s_overhead;   /* instructions of an empty measurement (two minstret reads) */

static void each_job(void (*f)(const job_t *))
{
    for (int p = 0; p < PATH_COUNT; p++) {
        for (int in = 0; in < IN_COUNT; in++) {
            for (int s = 0; s < NSIZES; s++) {
                if (p == PATH_RECV32 && s > 0) {
                    break;
                }
                for (int r = 0; r < ROW_COUNT; r++) {
                    job_t j = { (path_t)p, (row_t)r, (input_t)in, SIZES[s] };
#ifdef BENCH_ONLY_WASM3
                    if (r != ROW_WASM3) {
                        continue;   /* a second wasm3 build: the other rows do not change */
                    }
#endif
                    if (job_applies(&j)) {
                        f(&j);
                    }
                }
            }
        }
    }
}

static int s_checked, s_failed;

static void check_one(const job_t *j)
{
    s_checked++;
    if (job_check(j) != 0) {
        s_failed++;
    }
}

static void count_one(const job_t *j)
{
    long reps = (long)(65536 / job_bytes(j));
    reps = reps < 1 ? 1 : reps > 16 ? 16 : reps;
    job_prepare(j);
    if (job_bytes(j) < 65536) {
        job_run(j, 1);   /* warm-up; counts are the same cold or warm, this only mirrors the host */
    }
    uint64_t t0 = minstret();
    job_run(j, reps);
    uint64_t t1 = minstret();
    printf("job %s %s %s %u %ld\t%u\t%llu\n", path_name[j->path], row_name[j->row], input_name[j->input],
           (unsigned)j->size, reps, (unsigned)job_bytes(j), (unsigned long long)(t1 - t0 - s_overhead));
}

/* ---- heap ---- */

#ifndef BENCH_ONLY_WASM3

static const char *s_heap_config;

static void heap_step(const char *step)
{
    printf("heap\t%s\t%s\t%u\t%u\t%u\n", s_heap_config, step, (unsigned)heap_live, (unsigned)heap_peak,
           (unsigned)heap_blocks);
}

/* The component's cap on wasm3's linear memory for `conns` slots of buffer `buf`
 * (layout_estimate in component/src/ws_engine.c, with its event capacity of 16). */
static uint32_t layout_estimate(uint32_t conns, uint32_t buf)
{
    uint32_t rx = buf + 16 > WSE_RX_MIN ? buf + 16 : WSE_RX_MIN;
    uint32_t ctl = 2 * WSE_CTL_FRAME_MAX + 2;
    uint32_t per_conn = WSE_CONN_SIZE + rx + WSE_TX_HDR + buf + ctl + 16 * WSE_EV_SIZE + 64;
    uint32_t total = 16384 + WSB_SCRATCH + conns * per_conn;
    return (total + 1023) & ~1023u;
}

static void heap_config(const char *name, eng_kind_t kind, uint32_t conns, uint32_t buf, uint32_t mem_limit)
{
    if (!eng_available(kind)) {
        return;
    }
    size_t live0 = heap_live, peak0 = heap_peak;
    heap_live = 0;   /* figures relative to this configuration's start */
    heap_peak = 0;
    s_heap_config = name;
    eng_step_hook = heap_step;
    eng_t *e = eng_open(kind, conns, buf, 16, mem_limit, 2048);
    eng_step_hook = NULL;
    if (e == NULL) {
        printf("heap config %s failed\n", name);
    }
    eng_close(e);
    heap_step("after close");
    heap_live = live0 + heap_live;
    heap_peak = peak0 > heap_peak ? peak0 : heap_peak;
}
#endif

int main(void)
{
    __asm__ volatile("csrw mtvec, %0" : : "r"((uintptr_t)trap_handler));
    uint64_t a = minstret();
    uint64_t b = minstret();
    s_overhead = b - a;
    printf("start\tminstret overhead %u\n", (unsigned)s_overhead);

#ifndef BENCH_ONLY_WASM3
    char name[64];
    for (uint32_t conns = 1; conns <= 8; conns *= 2) {
        if (conns == 4) {
            continue;
        }
        snprintf(name, sizeof name, "wasm3 %u conn buf 1024 capped", (unsigned)conns);
        heap_config(name, ENG_WASM3, conns, 1024, layout_estimate(conns, 1024));
    }
    heap_config("wasm3 1 conn buf 1024 uncapped", ENG_WASM3, 1, 1024, 0);
    heap_config("wasm2c 1 conn buf 1024", ENG_WASM2C, 1, 1024, 0);
    heap_config("wasm2c 2 conn buf 1024", ENG_WASM2C, 2, 1024, 0);
    heap_config("wasm2c 8 conn buf 1024", ENG_WASM2C, 8, 1024, 0);
#endif

    if (jobs_init(1u << 20, 2048) != 0) {
        printf("jobs_init failed\n");
        _exit(1);
    }
    each_job(check_one);
    printf("checked\t%d\t%d\n", s_checked, s_failed);
    if (s_failed != 0) {
        _exit(2);
    }
    each_job(count_one);
    printf("done\n");
    _exit(0);   /* straight to the finisher (returning through exit() did not stop qemu) */
}
