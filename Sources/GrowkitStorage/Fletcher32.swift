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
    /// HDF5's fletcher32 of `count` bytes at `data`.
    static func checksum(_ data: UnsafeRawPointer, _ count: Int) -> UInt32 {
        let words = count / 2
        var s1: UInt64 = 0
        var s2: UInt64 = 0
        var any: UInt32 = 0
        var i = 0
        // Blocks of up to 256 groups of 16 words: per lane, `va` sums the words and
        // `vs` sums the running `va`, so sum_j (n - j) w_j = 16 * sum(vs) + sum_k (16 - k) va_k;
        // vs <= 256 * 255 / 2 * 65535 < 2^32, no lane overflows.
        while words - i >= 16 {
            let groups = min(256, (words - i) / 16)
            var va = SIMD16<UInt32>()
            var vs = SIMD16<UInt32>()
            var vor = SIMD16<UInt32>()
            var p = data + 2 * i
            for _ in 0..<groups {
                let raw = p.loadUnaligned(as: SIMD16<UInt16>.self)
                let w = SIMD16<UInt32>(truncatingIfNeeded: (raw &<< 8) | (raw &>> 8))
                vs &+= va
                va &+= w
                vor |= w
                p += 32
            }
            var sumVA: UInt64 = 0, sumVS: UInt64 = 0, weighted: UInt64 = 0
            for k in 0..<16 {
                sumVA += UInt64(va[k])
                sumVS += UInt64(vs[k])
                weighted += UInt64(16 - k) * UInt64(va[k])
            }
            if vor != SIMD16<UInt32>() { any = 1 }
            let n = UInt64(groups * 16)
            s2 = (s2 + n * s1 + 16 * sumVS + weighted) % 65535
            s1 = (s1 + sumVA) % 65535
            i += groups * 16
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
        var r1 = s1 % 65535
        var r2 = s2 % 65535
        if any != 0 {
            if r1 == 0 { r1 = 65535 }
            if r2 == 0 { r2 = 65535 }
        }
        return UInt32(r2) << 16 | UInt32(r1)
    }

    /// Whether the `count` bytes at `data` match the stored checksum `stored`.
    static func verify(_ data: UnsafeRawPointer, _ count: Int, stored: UInt32) -> Bool {
        let computed = checksum(data, count)
        let swapped = ((computed & 0x00FF_00FF) << 8) | ((computed & 0xFF00_FF00) >> 8)
        return stored == computed || stored == swapped
    }
}
