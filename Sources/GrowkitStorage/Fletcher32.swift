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
        // Blocks of up to 256 groups of 16 words (32 bytes, one SIMD8<UInt32> load).
        // Lane k of a load holds bytes b0 b1 b2 b3 = words 2k (b0 << 8 | b1) and
        // 2k + 1 (b2 << 8 | b3). Per lane, `even`/`odd` sum the words and `runEven`/
        // `runOdd` sum the running sums before each group, so for a block of G groups
        //     sum_j (n - j) w_j = 16 * sum(run) + sum_k (16 - 2k) even_k + (15 - 2k) odd_k.
        // run <= 256 * 255 / 2 * 65535 < 2^32: no lane overflows.
        let lowByte = SIMD8<UInt32>(repeating: 0x0000_00FF)
        let secondByte = SIMD8<UInt32>(repeating: 0x0000_FF00)
        let thirdByte = SIMD8<UInt32>(repeating: 0x00FF_0000)
        while words - i >= 16 {
            let groups = min(256, (words - i) / 16)
            var even = SIMD8<UInt32>(), odd = SIMD8<UInt32>()
            var runEven = SIMD8<UInt32>(), runOdd = SIMD8<UInt32>()
            var seen = SIMD8<UInt32>()
            var p = data + 2 * i
            for _ in 0..<groups {
                let lane = p.loadUnaligned(as: SIMD8<UInt32>.self)
                let w0 = ((lane & lowByte) &<< 8) | ((lane & secondByte) &>> 8)
                let w1 = ((lane & thirdByte) &>> 8) | (lane &>> 24)
                runEven &+= even
                runOdd &+= odd
                even &+= w0
                odd &+= w1
                seen |= lane
                p += 32
            }
            var sumWords: UInt64 = 0, sumRuns: UInt64 = 0, weighted: UInt64 = 0
            for k in 0..<8 {
                sumWords += UInt64(even[k]) + UInt64(odd[k])
                sumRuns += UInt64(runEven[k]) + UInt64(runOdd[k])
                weighted += UInt64(16 - 2 * k) * UInt64(even[k]) + UInt64(15 - 2 * k) * UInt64(odd[k])
            }
            if seen != SIMD8<UInt32>() { any = 1 }
            let n = UInt64(groups * 16)
            s2 = (s2 + n * s1 + 16 * sumRuns + weighted) % 65535
            s1 = (s1 + sumWords) % 65535
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

/// HDF5's fletcher32 of `count` bytes (see `Fletcher32`), for benchmarks and tools.
public func fletcher32Checksum(_ data: UnsafeRawPointer, _ count: Int) -> UInt32 {
    Fletcher32.checksum(data, count)
}
