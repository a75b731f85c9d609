import Foundation
import GrowkitData
import GrowkitRandom
import Testing

/// Samplers over a "ramp" file whose token at offset i is i, so every
/// token id says where it was read from.
@Suite struct SamplerTests {
    static func ramp(_ count: Int, in folder: URL) throws -> TokenSource {
        try TokenSource(path: writeFile(uint16Bytes(Array(0..<count)), named: "ramp-\(count).bin", in: folder))
    }

    @Test func targetsAreInputsShiftedByOne() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = try Self.ramp(500, in: folder)
        var sequential = try SequentialSampler(source: source, batchSize: 3, seqLen: 8, cursor: 10)
        var random = try RandomWindowSampler(source: source, batchSize: 5, seqLen: 8, seed: 1)
        for batch in [try sequential.next(), try random.next()] {
            #expect(batch.inputs.count == batch.batchSize * 8 && batch.targets.count == batch.batchSize * 8)
            for b in 0..<batch.batchSize {
                let s = TokenID(batch.windowStarts[b])
                #expect(Array(batch.inputRow(b)) == (0..<8).map { s + TokenID($0) })
                #expect(Array(batch.targetRow(b)) == (1...8).map { s + TokenID($0) })
            }
        }
        #expect(try firstWindowStarts(SequentialSampler(source: source, batchSize: 3, seqLen: 8, cursor: 10)) == [10, 18, 26])
    }

    /// Windows read with batch sizes 4, 4 equal those read with 8, or 1, 2, 5, or
    /// in a resumed sampler built from the saved cursor with another batch size.
    @Test func cursorIsIndependentOfBatchSize() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = try Self.ramp(100, in: folder)  // T = 7: 14 full windows start at 0, 7, ..., 91
        func starts(batchSizes: [Int]) throws -> [Int] {
            var all = [Int](), cursor = 0
            for size in batchSizes {
                var sampler = try SequentialSampler(source: source, batchSize: size, seqLen: 7, cursor: cursor)
                all += try sampler.next().windowStarts
                cursor = sampler.cursor
            }
            return all
        }
        let reference = try starts(batchSizes: Array(repeating: 1, count: 20))
        // One pass covers targets 1...98 once each; the 1-token tail (99) is left for the next pass.
        #expect(Array(reference.prefix(14)) == Array(stride(from: 0, through: 91, by: 7)))
        #expect(Array(reference.dropFirst(14)) == [0, 7, 14, 21, 28, 35])
        #expect(try starts(batchSizes: [4, 4, 4, 4, 4]) == reference)
        #expect(try starts(batchSizes: [1, 2, 5, 12]) == reference)
        #expect(try starts(batchSizes: [20]) == reference)

        var sampler = try SequentialSampler(source: source, batchSize: 5, seqLen: 7)
        for _ in 0..<3 { _ = try sampler.next() }
        #expect(sampler.cursor == 7)  // 15 rows: 14 in pass one, 1 in pass two
        #expect(sampler.wraps == 1)
    }

    @Test func randomWindowsAreDeterministicPerSeed() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = try Self.ramp(10_000, in: folder)
        func batches(seed: UInt64) throws -> [TokenBatch] {
            var sampler = try RandomWindowSampler(source: source, batchSize: 4, seqLen: 16, seed: seed)
            return try (0..<3).map { _ throws(DataError) in try sampler.next() }
        }
        #expect(try batches(seed: 42) == batches(seed: 42))
        #expect(try batches(seed: 42) != batches(seed: 43))

        // Resuming from the generator state continues the same sequence.
        var straight = try RandomWindowSampler(source: source, batchSize: 4, seqLen: 16, seed: 9)
        _ = try straight.next()
        var resumed = try RandomWindowSampler(source: source, batchSize: 2, seqLen: 16,
                                              generator: #require(Xoshiro256StarStar(stateBytes: straight.generator.stateBytes)))
        let next = try straight.next()
        #expect(try resumed.next().windowStarts + resumed.next().windowStarts == next.windowStarts)
    }

    /// With N = T + 3 there are exactly 3 full windows (starts 0, 1, 2): all are drawn, nothing else.
    @Test func randomStartsCoverEveryFullWindow() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var sampler = try RandomWindowSampler(source: Self.ramp(11, in: folder), batchSize: 300, seqLen: 8, seed: 5)
        #expect(Set(try sampler.next().windowStarts) == [0, 1, 2])
    }
}
