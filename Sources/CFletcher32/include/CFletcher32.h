#ifndef GROWKIT_CFLETCHER32_H
#define GROWKIT_CFLETCHER32_H
#include <stddef.h>
#include <stdint.h>

/// Whether this CPU runs `growkit_fletcher32_blocks_avx2` (x86-64 with AVX2).
int growkit_fletcher32_has_avx2(void);

/// The whole blocks of HDF5's fletcher32 over the big-endian 16-bit words at
/// `data` (`words` of them), with 256-bit AVX2 vectors: the same arithmetic as
/// the Swift loop in GrowkitStorage's Fletcher32.swift, which Swift compiles
/// for baseline x86-64 (two 128-bit halves per SIMD8<UInt32>). Consumes the
/// largest multiple of 16 words, updates `*s1` and `*s2` (each left reduced
/// mod 65535) and sets `*any` when a consumed word is nonzero, copies the
/// consumed bytes to `destination` when it is not NULL, and returns the number
/// of words consumed (0 when the CPU lacks AVX2: the caller does them all).
size_t growkit_fletcher32_blocks_avx2(const void *data, size_t words, void *destination,
                                      uint64_t *s1, uint64_t *s2, uint32_t *any);

#endif
