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
 *   fn <index> <wasm body bytes> <code bytes> <heap bytes>     (wasm3: one function compiled alone)
 *   stack <runtime> <operation> <bytes>                        (native stack high-water mark)
 *   checked <jobs> <failures>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_engine_abi.h"
#include "wsbench.h"

#if defined(BENCH_WASM3) && !defined(BENCH_ONLY_WASM3)
#include "engine_wasm.h"
#include "wasm3.h"
#include "m3_env.h"
#include "m3_compile.h"
#endif

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

static uint64_t s_paused, s_pause_t0, s_pauses;
static uint64_t s_pause_overhead;   /* instructions of one empty pause outside its two reads */

/* Work between runs that is not part of the figure: its instructions are taken off the count. */
static void minstret_unmeasured(int begin)
{
    if (begin) {
        s_pause_t0 = minstret();
    } else {
        s_paused += minstret() - s_pause_t0;
        s_pauses++;
    }
}

/* The cost of an empty pause as job_run makes it (a call through the pointer each way). */
static void calibrate_pause(void)
{
    void (*volatile hook)(int) = minstret_unmeasured;
    s_paused = 0;
    uint64_t t0 = minstret();
    if (hook != NULL) {
        hook(1);
    }
    if (hook != NULL) {
        hook(0);
    }
    uint64_t t1 = minstret();
    s_pause_overhead = t1 - t0 - s_overhead - s_paused;
    s_paused = 0;
    s_pauses = 0;
}

static void count_one(const job_t *j)
{
    long reps = (long)(65536 / job_bytes(j));
    reps = reps < 1 ? 1 : reps > 16 ? 16 : reps;
    job_prepare(j);
    if (job_bytes(j) < 65536) {
        job_run(j, 1);   /* warm-up; counts are the same cold or warm, this only mirrors the host */
    }
    s_paused = 0;
    s_pauses = 0;
    wsb_unmeasured = minstret_unmeasured;
    uint64_t t0 = minstret();
    job_run(j, reps);
    uint64_t t1 = minstret();
    wsb_unmeasured = NULL;
    uint64_t n = t1 - t0 - s_overhead - s_paused - s_pauses * s_pause_overhead;
    printf("job %s %s %s %u %ld\t%u\t%llu\n", path_name[j->path], row_name[j->row], input_name[j->input],
           (unsigned)j->size, reps, (unsigned)job_bytes(j), (unsigned long long)n);
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
 * (ws_engine_mem_need in component/src/ws_engine.c, with its event capacity of 16). */
static uint32_t layout_estimate(uint32_t conns, uint32_t buf)
{
    return (uint32_t)wse_layout_size(conns, buf, 16, WSB_SCRATCH);
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

#ifdef BENCH_WASM3
/* Code-page lines in use (each a code_t) over the runtime's pages. */
static uint32_t code_lines(IM3Runtime rt)
{
    uint32_t n = 0;
    for (IM3CodePage p = rt->pagesOpen; p != NULL; p = p->info.next) {
        n += p->info.lineIndex;
    }
    for (IM3CodePage p = rt->pagesFull; p != NULL; p = p->info.next) {
        n += p->info.lineIndex;
    }
    return n;
}

/* Compiles each function of engine.wasm alone, in index order (wasm3 compiles a callee at its
 * first call, not with its caller), and prints the code it emitted and the heap it took (code
 * pages are allocated in whole pages, so heap moves in steps; constants tables are separate). */
static void fn_sizes(void)
{
    IM3Environment env = m3_NewEnvironment();
    IM3Runtime rt = env ? m3_NewRuntime(env, 2048, NULL) : NULL;
    IM3Module mod = NULL;
    if (rt == NULL) {
        printf("fn sizes: no runtime\n");
        return;
    }
    rt->memoryLimit = layout_estimate(1, 1024);
    M3Result r = m3_ParseModule(env, &mod, ws_engine_wasm, (uint32_t)ws_engine_wasm_len);
    if (r == m3Err_none) {
        r = m3_LoadModule(rt, mod);
    }
    for (uint32_t i = 0; r == m3Err_none && i < mod->numFunctions; i++) {
        IM3Function f = &mod->functions[i];
        if (f->wasm == NULL || f->compiled != NULL) {
            continue;
        }
        size_t h0 = heap_live;
        uint32_t l0 = code_lines(rt);
        r = CompileFunction(f);
        printf("fn\t%u\t%u\t%u\t%u\n", (unsigned)i, (unsigned)(f->wasmEnd - f->wasm),
               (unsigned)((code_lines(rt) - l0) * sizeof(code_t)), (unsigned)(heap_live - h0));
    }
    if (r != m3Err_none) {
        printf("fn sizes: %s\n", r);
    }
    m3_FreeRuntime(rt);
    m3_FreeEnvironment(env);
}
#endif

/* ---- native stack high-water marks ---- */

extern char __heap_end[];   /* picolibc.ld: the bottom of the stack region */
#define PAINT 0xa5u

static uint8_t *s_caller_sp;

/* Fills the free stack below the caller's frame with PAINT, except the 128 bytes this function and
 * memset may use (figures under 128 bytes show as 128). */
__attribute__((noinline)) static void stack_paint(void)
{
    s_caller_sp = (uint8_t *)__builtin_frame_address(0);   /* rv32: the caller's sp at the call */
    memset(__heap_end + 16, PAINT, (size_t)(s_caller_sp - 128 - (uint8_t *)(__heap_end + 16)));
}

/* Bytes of stack used below the caller's sp since stack_paint (to the deepest overwritten byte). */
static uint32_t stack_used(void)
{
    const uint8_t *p = (const uint8_t *)__heap_end + 16;
    while (p < s_caller_sp - 128 && *p == PAINT) {
        p++;
    }
    return (uint32_t)(s_caller_sp - p);
}

static void stack_line(const char *rt, const char *op, uint32_t used)
{
    printf("stack\t%s\t%s\t%u\n", rt, op, (unsigned)used);
}

/* A server frame (unmasked) of `len` bytes of `fill` (a repeated UTF-8 string) into buf. */
static uint32_t server_frame(uint8_t *buf, uint8_t b0, const char *fill, uint32_t len)
{
    uint32_t h = 2;
    buf[0] = b0;
    if (len < 126) {
        buf[1] = (uint8_t)len;
    } else {
        buf[1] = 126;
        buf[2] = (uint8_t)(len >> 8);
        buf[3] = (uint8_t)len;
        h = 4;
    }
    size_t k = strlen(fill);
    for (uint32_t i = 0; i < len; i++) {
        buf[h + i] = (uint8_t)fill[i % k];
    }
    return h + len;
}

/* Native stack each engine operation takes, measured from the caller of the bench's engine wrapper
 * (which calls the runtime as component/src/ws_engine_wasm{2c,3}.c does). The stack the paint
 * region is below is the caller's; only the engine's share is counted. */
static void stack_config(const char *name, eng_kind_t kind)
{
    if (!eng_available(kind)) {
        return;
    }
    eng_wasm3_compile_all = 1;
    stack_paint();
    eng_t *e = eng_open(kind, 1, 1024, 16, layout_estimate(1, 1024), 2048);
    uint32_t open = stack_used();
    if (e == NULL) {
        printf("stack config %s failed\n", name);
        return;
    }
    stack_line(name, kind == ENG_WASM3 ? "create (parse, load, compile all, init) + handshake" :
               "create (instantiate, init) + handshake", open);

    stack_paint();
    int hs = eng_handshake(e);
    stack_line(name, "handshake (conn_reset, conn_config, hs_request, recv of the 101)", stack_used());

    uint8_t *m = eng_mem(e);
    uint32_t n = server_frame(m + eng_rx(e), 0x81, "abcdefgh", 1000);
    n += server_frame(m + eng_rx(e) + n, 0x89, "p", 4);
    stack_paint();
    int32_t c1 = eng_recv(e, n, 10, 0x11111111, 0x22222222);
    stack_line(name, "recv: 1000-byte ASCII text frame + PING", stack_used());

    n = server_frame(m + eng_rx(e), 0x81, "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80", 999);
    stack_paint();
    int32_t c2 = eng_recv(e, n, 20, 0x11111111, 0x22222222);
    stack_line(name, "recv: 999-byte multi-byte UTF-8 text frame", stack_used());

    memset(m + eng_tx(e) + WSE_TX_HDR, 'x', 1000);
    stack_paint();
    int32_t c3 = eng_send(e, 0x81, 1000, 0x33333333, 30);
    stack_line(name, "send: 1000-byte text frame", stack_used());

    stack_paint();
    int32_t c4 = eng_tick(e, 200000, 0x44444444);
    stack_line(name, "tick", stack_used());

    if (hs != 0 || c1 < 1 || c2 < 1 || c3 < 0 || c4 < 0) {
        printf("stack config %s: unexpected results %d %ld %ld %ld %ld\n", name, hs, (long)c1, (long)c2, (long)c3,
               (long)c4);
    }
    eng_close(e);
    eng_wasm3_compile_all = 0;
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
    eng_wasm3_compile_all = 1;   /* as the component does */
    for (uint32_t conns = 1; conns <= 8; conns *= 2) {
        if (conns == 4) {
            continue;
        }
        snprintf(name, sizeof name, "wasm3 %u conn buf 1024 capped", (unsigned)conns);
        heap_config(name, ENG_WASM3, conns, 1024, layout_estimate(conns, 1024));
    }
    heap_config("wasm3 1 conn buf 1024 uncapped", ENG_WASM3, 1, 1024, 0);
    eng_wasm3_compile_all = 0;
    heap_config("wasm3 1 conn buf 1024 capped, lazy compile", ENG_WASM3, 1, 1024, layout_estimate(1, 1024));
    heap_config("wasm2c 1 conn buf 1024", ENG_WASM2C, 1, 1024, layout_estimate(1, 1024));
    heap_config("wasm2c 2 conn buf 1024", ENG_WASM2C, 2, 1024, layout_estimate(2, 1024));
    heap_config("wasm2c 8 conn buf 1024", ENG_WASM2C, 8, 1024, layout_estimate(8, 1024));
    heap_config("wasm2c 1 conn buf 1024 uncapped", ENG_WASM2C, 1, 1024, 0);
#ifdef BENCH_WASM3
    fn_sizes();
#endif
    stack_config("wasm3", ENG_WASM3);
    stack_config("wasm2c", ENG_WASM2C);
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
    calibrate_pause();
    each_job(count_one);
    printf("done\n");
    _exit(0);   /* straight to the finisher (returning through exit() did not stop qemu) */
}
