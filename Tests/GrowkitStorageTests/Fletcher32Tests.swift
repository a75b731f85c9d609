import Testing
@testable import GrowkitStorage

@Suite("fletcher32")
struct Fletcher32Tests {
    /// HDF5's `H5_checksum_fletcher32`, written out as the HDF5 library defines
    /// it (word by word, folding every 360 words, then twice at the end): the
    /// independent reference for the SIMD version.
    static func reference(_ bytes: [UInt8]) -> UInt32 {
        var sum1: UInt32 = 0, sum2: UInt32 = 0
        var index = 0
        var remaining = bytes.count / 2
        while remaining > 0 {
            var block = min(remaining, 360)
            remaining -= block
            while block > 0 {
                sum1 += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
                index += 2
                sum2 += sum1
                block -= 1
            }
            sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
            sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
        }
        if bytes.count % 2 == 1 {
            sum1 += UInt32(bytes[index]) << 8
            sum2 += sum1
            sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
            sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
        }
        sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
        sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
        return sum2 << 16 | sum1
    }

    /// The kernels this machine runs: the portable Swift loop, and the AVX2 one
    /// (`CFletcher32`) when the CPU has it.
    static let kernels: [Bool] = Fletcher32.hasAVX2 ? [false, true] : [false]

    static func fast(_ bytes: [UInt8], avx2: Bool) -> UInt32 {
        bytes.withUnsafeBytes { Fletcher32.checksum($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, $0.count, copyingTo: nil, avx2: avx2) }
    }

    @Test("the SIMD checksum equals HDF5's word-by-word definition on every length and on edge patterns", arguments: kernels)
    func matchesReference(avx2: Bool) {
        var state: UInt64 = 0x1234_5678
        func nextByte() -> UInt8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        // Lengths around the 16-word SIMD groups, the 256-group blocks and HDF5's 360-word folds.
        var lengths = Array(0...70) + [719, 720, 721, 8191, 8192, 8193, 8224, 16_385, 100_001, 131_072, 131_104]
        lengths.append(1 << 20)
        for length in lengths {
            let random = (0..<length).map { _ in nextByte() }
            #expect(Self.fast(random, avx2: avx2) == Self.reference(random), "random bytes, length \(length)")
            // All 0xFF: sums are positive multiples of 65535, which HDF5 leaves as 0xFFFF.
            let ones = [UInt8](repeating: 0xFF, count: length)
            #expect(Self.fast(ones, avx2: avx2) == Self.reference(ones), "0xFF bytes, length \(length)")
            let zeros = [UInt8](repeating: 0, count: length)
            #expect(Self.fast(zeros, avx2: avx2) == Self.reference(zeros), "zero bytes, length \(length)")
        }
        // A single nonzero byte at the very end of a long zero run.
        var tail = [UInt8](repeating: 0, count: 65_536)
        tail[65_535] = 1
        #expect(Self.fast(tail, avx2: avx2) == Self.reference(tail))
    }

    @Test("the copying checksum copies every byte and gives the same checksum", arguments: kernels)
    func copying(avx2: Bool) {
        for length in [0, 1, 31, 32, 33, 8191, 8192, 100_003] {
            let source = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }
            var copy = [UInt8](repeating: 0xAA, count: length + 1)
            let checksum = source.withUnsafeBytes { s in
                copy.withUnsafeMutableBytes { d in
                    Fletcher32.checksum(s.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, length, copyingTo: d.baseAddress!, avx2: avx2)
                }
            }
            #expect(checksum == Self.reference(source), "length \(length)")
            #expect(Array(copy[0..<length]) == source, "length \(length)")
            #expect(copy[length] == 0xAA, "no byte written past the end, length \(length)")
        }
    }

    @Test("the sums of pieces joined equal the checksum of the whole (pieces of even length)", arguments: kernels)
    func joinedPieces(avx2: Bool) {
        var state: UInt64 = 0x9E37_79B9
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33) % bound
        }
        for length in [2, 33, 64, 1000, 8193, 70_001, 262_147] {
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: next(256)) }
            // Half the cases start with a run of zero words: the joined sums must still
            // remember that some word was nonzero.
            if length % 2 == 1 { for k in 0..<(length / 2) { bytes[k] = 0 } }
            for _ in 0..<8 {
                // 1 to 4 pieces, cut at even offsets; only the last may be odd.
                var cuts = (0..<next(4)).map { _ in 2 * next(length / 2 + 1) }
                cuts = (Array(Set(cuts + [0])).sorted()) + [length]
                var joined: Fletcher32.Sums? = nil
                bytes.withUnsafeBytes { raw in
                    for (a, b) in zip(cuts, cuts.dropFirst()) {
                        let piece = Fletcher32.sums(raw.baseAddress! + a, b - a, avx2: avx2)
                        joined = joined.map { $0.followed(by: piece) } ?? piece
                    }
                }
                #expect(joined?.checksum == Self.reference(bytes), "length \(length), cuts \(cuts)")
            }
        }
        // All-0xFF pieces: each sum a positive multiple of 65535, folded to 0xFFFF.
        let ones = [UInt8](repeating: 0xFF, count: 131_070 * 2)
        let joined = ones.withUnsafeBytes { raw in
            Fletcher32.sums(raw.baseAddress!, 65_536, avx2: avx2).followed(by: Fletcher32.sums(raw.baseAddress! + 65_536, ones.count - 65_536, avx2: avx2))
        }
        #expect(joined.checksum == Self.reference(ones))
    }
}
