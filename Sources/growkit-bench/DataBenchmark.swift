import CZstd
import Foundation
import GrowkitData

/// `growkit-bench data [CORPUS.zst]`: the data layer against baselines timed in the same run.
///
/// - zstd: `TokenSource` opening the corpus (streaming `ZSTD_decompressStream`, bounded,
///   chunk by chunk) vs one-shot `ZSTD_decompress` of the same bytes into a preallocated buffer.
/// - batches: ``RandomWindowSampler`` tokens/s (B = 8, T = 256) from the in-memory corpus
///   and from a uint16 file read with `pread`, vs copying the same windows out of a Swift array.
/// - vocab scan: ``TokenSource/validate(vocabSize:)`` of the uint16 file, tokens/s.
enum DataBenchmark {
    static func run(arguments: [String]) {
        let corpus = arguments.first ?? "fixtures/jargon-file-4.4.7.txt.zst"
        do { try measure(corpus: corpus) } catch { print("data: error: \(error)") }
    }


    /// Median seconds of `runs` calls after one warmup call.
    static func time(runs: Int = 7, _ body: () throws -> Void) rethrows -> Double {
        try body()
        var times = [Double]()
        for _ in 0..<runs {
            let start = BenchClock.wall()
            try body()
            times.append(BenchClock.wall() - start)
        }
        return times.sorted()[runs / 2]
    }

    /// Median seconds of `ours` and of `baseline`, run alternately so that load
    /// from other processes on the shared machine hits both alike.
    static func timePair(runs: Int = 7, _ ours: () throws -> Void, _ baseline: () throws -> Void) rethrows -> (Double, Double) {
        try ours()
        try baseline()
        var a = [Double](), b = [Double]()
        for _ in 0..<runs {
            var start = BenchClock.wall()
            try ours()
            a.append(BenchClock.wall() - start)
            start = BenchClock.wall()
            try baseline()
            b.append(BenchClock.wall() - start)
        }
        return (a.sorted()[runs / 2], b.sorted()[runs / 2])
    }

    static func measure(corpus: String) throws {
        let compressed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corpus)))
        let source = try TokenSource(path: corpus)
        let size = source.count
        print("growkit-bench data: \(corpus), \(compressed.count) bytes -> \(size) tokens; median of 7 runs after 1 warmup")

        // zstd: ours (streaming, from disk) vs one-shot into a preallocated buffer (from memory).
        var output = [UInt8](repeating: 0, count: size)
        let (ours, baseline) = try timePair({ _ = try TokenSource(path: corpus) }, {
            let written = output.withUnsafeMutableBytes { out in
                compressed.withUnsafeBytes { ZSTD_decompress(out.baseAddress, out.count, $0.baseAddress, $0.count) }
            }
            precondition(written == size, "baseline decompression failed")
        })
        let mb = Double(size) / 1e6
        print(String(format: "zstd open        %8.1f MB/s   one-shot ZSTD_decompress %8.1f MB/s   ratio %.2f",
                     mb / ours, mb / baseline, baseline / ours))

        // The same corpus as a uint16 token file on disk.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("growkit-bench-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokens = try source.tokens(0..<size)
        let binPath = folder.appendingPathComponent("jargon.bin").path
        try Data(tokens.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }).write(to: URL(fileURLWithPath: binPath))
        let bin = try TokenSource(path: binPath)

        let batchSize = 8, seqLen = 256, batches = 200
        let perRun = Double(batches * batchSize * seqLen)
        func sample(_ source: TokenSource) throws {
            var sampler = try RandomWindowSampler(source: source, batchSize: batchSize, seqLen: seqLen, seed: 1)
            for _ in 0..<batches { _ = try sampler.next() }
        }
        // Baseline: the same windows copied out of a Swift array (no file, no decoding).
        var starter = try RandomWindowSampler(source: source, batchSize: batchSize, seqLen: seqLen, seed: 1)
        let starts = try (0..<batches).flatMap { _ in try starter.next().windowStarts }
        var sink: Int32 = 0
        let copy = {
            var inputs = [Int32](repeating: 0, count: batchSize * seqLen), targets = inputs
            for (i, s) in starts.enumerated() {
                let row = i % batchSize
                for t in 0..<seqLen {
                    inputs[row * seqLen + t] = tokens[s + t]
                    targets[row * seqLen + t] = tokens[s + t + 1]
                }
                sink &+= inputs[row * seqLen] &+ targets[row * seqLen]
            }
        }
        for (label, data) in [("memory", source), ("pread ", bin)] {
            let (ours, baseline) = try timePair({ try sample(data) }, copy)
            print(String(format: "batches (%@) %8.2f Mtok/s   array copy %8.2f Mtok/s   ratio %.2f",
                         label, perRun / ours / 1e6, perRun / baseline / 1e6, baseline / ours))
        }
        // Printed so the baseline copy cannot be optimised away.
        print("  (array copy checksum \(sink))")
        let scan = try time { try bin.validate(vocabSize: 256) }
        print(String(format: "vocab scan       %8.1f Mtok/s (uint16 file, %d tokens)", Double(size) / scan / 1e6, size))
    }
}
