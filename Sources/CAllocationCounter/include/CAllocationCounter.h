#ifndef GROWKIT_CALLOCATIONCOUNTER_H
#define GROWKIT_CALLOCATIONCOUNTER_H
#include <stdint.h>

/// Heap allocations (malloc, calloc, realloc, aligned_alloc, posix_memalign,
/// memalign) made so far by the calling thread. Test support only: linking this
/// target interposes those functions for the whole process, each counting on
/// its thread and forwarding to glibc's allocator.
uint64_t growkit_thread_allocations(void);

/// Whether the interposition is live (glibc, where `__libc_malloc` exists).
int growkit_allocation_counting_available(void);

#endif
