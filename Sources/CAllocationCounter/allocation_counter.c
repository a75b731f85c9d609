// Counts heap allocations per thread, for the test that the forward pass
// allocates nothing once its activations exist (Tests/GrowkitModelTests).
// An executable's definitions of malloc and friends take precedence over
// libc's for every library in the process; each one here bumps a thread-local
// counter and forwards to glibc's own entry points (__libc_*), so free,
// malloc_usable_size and the rest keep working on the blocks.
#include "CAllocationCounter.h"

#if defined(__GLIBC__)
#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

// initial-exec: reading the counter must not itself allocate (no __tls_get_addr).
static __thread uint64_t thread_allocations __attribute__((tls_model("initial-exec")));

uint64_t growkit_thread_allocations(void) { return thread_allocations; }
int growkit_allocation_counting_available(void) { return 1; }

void *malloc(size_t size) {
    thread_allocations++;
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    thread_allocations++;
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    thread_allocations++;
    return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
    thread_allocations++;
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    thread_allocations++;
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    thread_allocations++;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *out = pointer;
    return 0;
}

#else

uint64_t growkit_thread_allocations(void) { return 0; }
int growkit_allocation_counting_available(void) { return 0; }

#endif
