/*
 * sys/mman.h for a bare-metal build of wabt's wasm-rt-impl.c (bench/rv32 only).
 *
 * wasm-rt-impl.c includes <sys/mman.h> on every non-Windows target and defines static helpers
 * around mmap/mprotect/munmap; with WASM_RT_MEMCHECK_SIGNAL_HANDLER=0 (explicit bounds checks,
 * linear memory from calloc) nothing calls them, so declarations are all it needs. picolibc has
 * no such header.
 */
#ifndef BENCH_RV32_SYS_MMAN_H
#define BENCH_RV32_SYS_MMAN_H

#include <stddef.h>

#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 0x02
#define MAP_ANONYMOUS 0x20
#define MAP_FAILED ((void *)-1)

void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int munmap(void *addr, size_t len);
int mprotect(void *addr, size_t len, int prot);

#endif /* BENCH_RV32_SYS_MMAN_H */
