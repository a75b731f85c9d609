import CFletcher32

/// HDF5's fletcher32 checksum (filter id 3), computed with SIMD.
///
/// Why: HDF5 1.10 computes fletcher32 one 16-bit word at a time (about 1-2 GB/s)
/// and copies every chunk twice around it; growkit's direct chunk I/O
/// (`HDF5Dataset+DirectChunks.swift`) reads and writes the stored chunk bytes
/// itself and checks them with this function. HDF5's own filter cannot be
/// replaced (`H5Zregister` refuses predefined filter ids), and need not be: the
/// checksum is bit-identical to HDF5's `H5_checksum_fletcher32`, which is, over
/// the n big-endian 16-bit words w_0..w_{n-1} of a chunk (an odd last byte
/// counts as a word `byte << 8`):
///
///     sum1 = sum_j w_j                   (mod 65535)
///     sum2 = sum_j (n - j) * w_j         (mod 65535)
///     checksum = sum2 << 16 | sum1
///
/// where HDF5's end-around-carry folding leaves each sum in 1...65535 when its
/// true value is positive (so a positive multiple of 65535 is 0xFFFF) and 0 only
/// when every word is 0. The checksum is stored after the chunk's bytes as a
/// little-endian uint32. On read HDF5 also accepts the checksum with the bytes
/// of each 16-bit half swapped (written by HDF5 before 1.6.3); so does `verify`.
enum Fletcher32 {
    /// Whether the AVX2 kernel runs on this CPU (checked once).
    static let hasAVX2 = growkit_fletcher32_has_avx2() != 0

    /// HDF5's fletcher32 of `count` bytes at `data`.
    static func checksum(_ data: UnsafeRawPointer, _ count: Int) -> UInt32 {
        checksum(data, count, copyingTo: nil)
    }

    /// The checksum of `count` bytes at `data`, copying them to `destination` in
    /// the same pass (one read of the source instead of two, for writers).
    /// `avx2: false` keeps the portable Swift loop (for tests of both kernels).
    @inline(__always)
    static func checksum(_ data: UnsafeRawPointer, _ count: Int, copyingTo destination: UnsafeMutableRawPointer?, avx2: Bool = hasAVX2) -> UInt32 {
        sums(data, count, copyingTo: destination, avx2: avx2).checksum
    }

    /// The running sums of a piece of a checksummed byte string, before the final
    /// fold. Pieces computed apart (on different threads) combine exactly: after
    /// piece a, each of piece b's `words` words adds a's whole `s1` to `s2` once more,
    ///     s1 = s1_a + s1_b,   s2 = s2_a + words_b * s1_a + s2_b   (mod 65535),
    /// so a chunk can be read and summed in slices and checked once they are all in.
    struct Sums: Equatable {
        var s1: UInt64 = 0
        var s2: UInt64 = 0
        var anyNonzero = false
        /// 16-bit words summed (an odd last byte counts as one).
        var words: UInt64 = 0

        /// The sums of `self` followed by `next` (`self` must cover an even number of bytes).
        func followed(by next: Sums) -> Sums {
            Sums(s1: (s1 + next.s1) % 65535, s2: (s2 + (next.words % 65535) * (s1 % 65535) + next.s2) % 65535,
                 anyNonzero: anyNonzero || next.anyNonzero, words: words + next.words)
        }

        /// HDF5's checksum: each sum folded into 1...65535 when positive (a positive
        /// multiple of 65535 is 0xFFFF), 0 only when every word is 0.
        var checksum: UInt32 {
            var r1 = s1 % 65535
            var r2 = s2 % 65535
            if anyNonzero {
                if r1 == 0 { r1 = 65535 }
                if r2 == 0 { r2 = 65535 }
            }
            return UInt32(r2) << 16 | UInt32(r1)
        }

        /// Whether these sums match the stored checksum `stored` (also accepted:
        /// the halves byte-swapped, as HDF5 before 1.6.3 wrote them).
        func matches(_ stored: UInt32) -> Bool {
            let computed = checksum
            let swapped = ((computed & 0x00FF_00FF) << 8) | ((computed & 0xFF00_FF00) >> 8)
            return stored == computed || stored == swapped
        }
    }

    /// The sums of `count` bytes at `data` (see `checksum`; `Sums.followed(by:)`
    /// joins pieces: every piece but a string's last must have an even length).
    @inline(__always)
    static func sums(_ data: UnsafeRawPointer, _ count: Int, copyingTo destination: UnsafeMutableRawPointer? = nil, avx2: Bool = hasAVX2) -> Sums {
        let words = count / 2
        var s1: UInt64 = 0
        var s2: UInt64 = 0
        var any: UInt32 = 0
        var i = 0
        // Blocks of up to 256 groups of 16 words (32 bytes, one SIMD8<UInt32> load).
        // Lane k of a load holds bytes b0 b1 b2 b3 = words 2k (b0 << 8 | b1) and
        // 2k + 1 (b2 << 8 | b3). Per lane, `even`/`odd` sum the words and `runEven`/
        // `runOdd` sum the running sums before each group, so for a block of G groups
        //     sum_j (n - j) w_j = 16 * sum(run) + sum_k (16 - 2k) even_k + (15 - 2k) odd_k.
        // run <= 256 * 255 / 2 * 65535 < 2^32: no lane overflows.
        //
        // The words are not assembled per load: within sub-blocks of at most 16
        // groups the bytes are summed as they lie, in two 16-bit fields per lane,
        //     P = lane & 0x00FF00FF        (b0 | b2 << 16: the words' high bytes)
        //     Q = (lane >> 8) & 0x00FF00FF (b1 | b3 << 16: the words' low bytes),
        // and only at the end of the sub-block recombined as word sums
        // 256 * high + low (even words: low fields, odd words: high fields). A field's
        // running sum stays below 255 * 16 * 15 / 2 = 30600 < 2^16. Per load this is
        // 2 masks and a shift instead of 4 masks and 4 shifts (the checksum pass is
        // what a checked warm read pays on top of the kernel's copy).
        //
        // On x86-64 with AVX2 the same blocks run in C (`CFletcher32`): Swift builds
        // for baseline x86-64 and splits each SIMD8<UInt32> into two 128-bit halves;
        // the 256-bit kernel cut the checksums of a warm GPT-2 124M read (1.49 GB)
        // from 0.074 to 0.043 CPU s (perf samples over 30 reads of
        // `growkit-bench storage --read-profile`); unrolling whole sub-blocks and
        // taking the copy test out of the loop then raised it from 26 to 42-52 GB/s
        // on cache-resident data (a C loop over 1 MiB buffers, gcc / clang -O2).
        // The loop below then only finishes a tail (or does everything where AVX2
        // is missing).
        if avx2, words >= 16 {
            i = growkit_fletcher32_blocks_avx2(data, words, destination, &s1, &s2, &any)
        }
        let fieldMask = SIMD8<UInt32>(repeating: 0x00FF_00FF)
        let lowField = SIMD8<UInt32>(repeating: 0x0000_FFFF)
        while words - i >= 16 {
            let groups = min(256, (words - i) / 16)
            var even = SIMD8<UInt32>(), odd = SIMD8<UInt32>()
            var runEven = SIMD8<UInt32>(), runOdd = SIMD8<UInt32>()
            var p = data + 2 * i
            var q = destination.map { $0 + 2 * i }
            var left = groups
            while left > 0 {
                let sub = min(16, left)
                var sumP = SIMD8<UInt32>(), sumQ = SIMD8<UInt32>()
                var runP = SIMD8<UInt32>(), runQ = SIMD8<UInt32>()
                for _ in 0..<sub {
                    let lane = p.loadUnaligned(as: SIMD8<UInt32>.self)
                    if let target = q {
                        target.storeBytes(of: lane, as: SIMD8<UInt32>.self)
                        q = target + 32
                    }
                    runP &+= sumP
                    runQ &+= sumQ
                    sumP &+= lane & fieldMask
                    sumQ &+= (lane &>> 8) & fieldMask
                    p += 32
                }
                // Running sums over the block: each of the sub-block's groups also
                // counts everything summed before the sub-block.
                let before = sub == 16 ? (even &<< 4, odd &<< 4) : (even &* UInt32(sub), odd &* UInt32(sub))
                runEven &+= (((runP & lowField) &<< 8) &+ (runQ & lowField)) &+ before.0
                runOdd &+= (((runP &>> 16) &<< 8) &+ (runQ &>> 16)) &+ before.1
                even &+= ((sumP & lowField) &<< 8) &+ (sumQ & lowField)
                odd &+= ((sumP &>> 16) &<< 8) &+ (sumQ &>> 16)
                left -= sub
            }
            var sumWords: UInt64 = 0, sumRuns: UInt64 = 0, weighted: UInt64 = 0
            for k in 0..<8 {
                sumWords += UInt64(even[k]) + UInt64(odd[k])
                sumRuns += UInt64(runEven[k]) + UInt64(runOdd[k])
                weighted += UInt64(16 - 2 * k) * UInt64(even[k]) + UInt64(15 - 2 * k) * UInt64(odd[k])
            }
            // The block's word sum is exact here, so it tells whether any word was nonzero.
            if sumWords > 0 { any = 1 }
            let n = UInt64(groups * 16)
            s2 = (s2 + n * s1 + 16 * sumRuns + weighted) % 65535
            s1 = (s1 + sumWords) % 65535
            i += groups * 16
        }
        if let destination, 2 * i < count {
            (destination + 2 * i).copyMemory(from: data + 2 * i, byteCount: count - 2 * i)
        }
        let bytes = data.assumingMemoryBound(to: UInt8.self)
        while i < words {
            let w = UInt64(bytes[2 * i]) << 8 | UInt64(bytes[2 * i + 1])
            any |= UInt32(w)
            s1 += w
            s2 += s1
            i += 1
        }
        if count % 2 == 1 {
            let w = UInt64(bytes[count - 1]) << 8
            any |= UInt32(w)
            s1 += w
            s2 += s1
        }
        return Sums(s1: s1, s2: s2, anyNonzero: any != 0, words: UInt64((count + 1) / 2))
    }

    /// Whether the `count` bytes at `data` match the stored checksum `stored`.
    static func verify(_ data: UnsafeRawPointer, _ count: Int, stored: UInt32) -> Bool {
        sums(data, count).matches(stored)
    }
}

/// HDF5's fletcher32 of `count` bytes (see `Fletcher32`), for benchmarks and tools.
/// (Copying variant: `Fletcher32.checksum(_:_:copyingTo:)`.)
public func fletcher32Checksum(_ data: UnsafeRawPointer, _ count: Int) -> UInt32 {
    Fletcher32.checksum(data, count)
}
