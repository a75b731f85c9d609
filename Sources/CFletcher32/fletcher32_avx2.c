// AVX2 kernel of HDF5's fletcher32: see include/CFletcher32.h and
// Sources/GrowkitStorage/Fletcher32.swift for the math. Selected at run time
// (the package is built for baseline x86-64); elsewhere it consumes nothing.
#include "CFletcher32.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

int growkit_fletcher32_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}

// One group: 32 bytes (16 words) added to the byte-field sums, after the
// running sums take in the groups before it.
#define GROUP(sumP, sumQ, runP, runQ, lane)                                        \
    do {                                                                           \
        runP = _mm256_add_epi32(runP, sumP);                                       \
        runQ = _mm256_add_epi32(runQ, sumQ);                                       \
        sumP = _mm256_add_epi32(sumP, _mm256_and_si256(lane, fieldMask));          \
        sumQ = _mm256_add_epi32(sumQ, _mm256_srli_epi16(lane, 8));                 \
    } while (0)

// The blocks of `growkit_fletcher32_blocks_avx2`, with `copy` a compile-time
// constant at each call so the copying test leaves the loop.
__attribute__((target("avx2"), always_inline))
static inline size_t blocks(const uint8_t *p, size_t words, uint8_t *q, int copy,
                            uint64_t *s1io, uint64_t *s2io, uint32_t *anyio) {
    const __m256i fieldMask = _mm256_set1_epi32(0x00FF00FF);
    const __m256i lowField = _mm256_set1_epi32(0x0000FFFF);
    uint64_t s1 = *s1io, s2 = *s2io;
    uint32_t any = *anyio;
    size_t i = 0;
    while (words - i >= 16) {
        size_t groups = (words - i) / 16;
        if (groups > 256) groups = 256;
        __m256i even = _mm256_setzero_si256(), odd = _mm256_setzero_si256();
        __m256i runEven = _mm256_setzero_si256(), runOdd = _mm256_setzero_si256();
        size_t left = groups;
        while (left > 0) {
            size_t sub = left < 16 ? left : 16;
            __m256i sumP = _mm256_setzero_si256(), sumQ = _mm256_setzero_si256();
            __m256i runP = _mm256_setzero_si256(), runQ = _mm256_setzero_si256();
            if (sub == 16) {
                // Straight-line: no per-group branch or counter.
                for (int g = 0; g < 16; g++) {
                    __m256i lane = _mm256_loadu_si256((const __m256i *)(p + 32 * g));
                    if (copy) _mm256_storeu_si256((__m256i *)(q + 32 * g), lane);
                    GROUP(sumP, sumQ, runP, runQ, lane);
                }
                p += 512;
                if (copy) q += 512;
            } else {
                for (size_t g = 0; g < sub; g++) {
                    __m256i lane = _mm256_loadu_si256((const __m256i *)p);
                    if (copy) { _mm256_storeu_si256((__m256i *)q, lane); q += 32; }
                    GROUP(sumP, sumQ, runP, runQ, lane);
                    p += 32;
                }
            }
            // P holds the words' high bytes (b0 | b2 << 16), Q their low bytes
            // (b1 | b3 << 16): even words sit in the low 16-bit fields, odd words in
            // the high ones. Every group of the sub-block also counts the words
            // summed before it.
            __m256i subCount = _mm256_set1_epi32((int)sub);
            __m256i beforeEven = _mm256_mullo_epi32(even, subCount);
            __m256i beforeOdd = _mm256_mullo_epi32(odd, subCount);
            runEven = _mm256_add_epi32(runEven, _mm256_add_epi32(_mm256_add_epi32(
                _mm256_slli_epi32(_mm256_and_si256(runP, lowField), 8), _mm256_and_si256(runQ, lowField)), beforeEven));
            runOdd = _mm256_add_epi32(runOdd, _mm256_add_epi32(_mm256_add_epi32(
                _mm256_slli_epi32(_mm256_srli_epi32(runP, 16), 8), _mm256_srli_epi32(runQ, 16)), beforeOdd));
            even = _mm256_add_epi32(even, _mm256_add_epi32(
                _mm256_slli_epi32(_mm256_and_si256(sumP, lowField), 8), _mm256_and_si256(sumQ, lowField)));
            odd = _mm256_add_epi32(odd, _mm256_add_epi32(
                _mm256_slli_epi32(_mm256_srli_epi32(sumP, 16), 8), _mm256_srli_epi32(sumQ, 16)));
            left -= sub;
        }
        uint32_t e[8], o[8], re[8], ro[8];
        _mm256_storeu_si256((__m256i *)e, even);
        _mm256_storeu_si256((__m256i *)o, odd);
        _mm256_storeu_si256((__m256i *)re, runEven);
        _mm256_storeu_si256((__m256i *)ro, runOdd);
        uint64_t sumWords = 0, sumRuns = 0, weighted = 0;
        for (int k = 0; k < 8; k++) {
            sumWords += (uint64_t)e[k] + o[k];
            sumRuns += (uint64_t)re[k] + ro[k];
            weighted += (uint64_t)(16 - 2 * k) * e[k] + (uint64_t)(15 - 2 * k) * o[k];
        }
        if (sumWords > 0) any = 1;
        uint64_t n = (uint64_t)groups * 16;
        s2 = (s2 + n * s1 + 16 * sumRuns + weighted) % 65535;
        s1 = (s1 + sumWords) % 65535;
        i += groups * 16;
    }
    *s1io = s1;
    *s2io = s2;
    *anyio = any;
    return i;
}

__attribute__((target("avx2")))
size_t growkit_fletcher32_blocks_avx2(const void *data, size_t words, void *destination,
                                      uint64_t *s1io, uint64_t *s2io, uint32_t *anyio) {
    if (destination)
        return blocks((const uint8_t *)data, words, (uint8_t *)destination, 1, s1io, s2io, anyio);
    return blocks((const uint8_t *)data, words, NULL, 0, s1io, s2io, anyio);
}

#else

int growkit_fletcher32_has_avx2(void) { return 0; }

size_t growkit_fletcher32_blocks_avx2(const void *data, size_t words, void *destination,
                                      uint64_t *s1, uint64_t *s2, uint32_t *any) {
    (void)data; (void)words; (void)destination; (void)s1; (void)s2; (void)any;
    return 0;
}

#endif
