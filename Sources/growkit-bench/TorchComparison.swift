import COpenBLAS
import Foundation
import GrowkitModel

/// `growkit-bench forward --paired P`: our forward pass against PyTorch eager's, one forward of
/// each in turn, P pairs per config.
///
/// `tools/bench_torch_forward.py --serve` stays resident with both models built and warmed up and
/// runs one forward per config name it reads from stdin. Each pair is then (our forward, torch's
/// forward), a fraction of a second apart, so a burst of load from another process (this is a
/// shared 2-core VM) slows both sides of a pair alike, where figures taken tens of seconds apart
/// (a median of ours, then a median of torch's) can land one in the burst and one outside it. The
/// figure is the median over pairs of `torch seconds / our seconds` (= ours/torch in tokens/s),
/// with each side's median tokens/s and the same ratio of process CPU time.
enum TorchComparison {
    /// A resident `bench_torch_forward.py --serve`.
    final class TorchServer {
        let process = Process()
        let input = Pipe(), output = Pipe()
        private var buffer = Data()

        /// Starts the server and waits for its `ready` line; nil (after saying why) if it fails.
        init?(script: String, names: [String], warmup: Int, train: Bool = false) {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, "--serve", "--warmup", "\(warmup)"]
                + names.flatMap { ["--config", $0] } + (train ? ["--train"] : [])
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch {
                print("torch comparison: cannot start python3 \(script): \(error)")
                return nil
            }
            guard let ready = readObject(), ready["ready"] as? Bool == true else {
                print("torch comparison: \(script) --serve did not start (is PyTorch installed?)")
                return nil
            }
        }

        /// The server's peak resident set size in bytes, from its last reply (0 if it did not say).
        private(set) var peakRSSBytes = 0.0

        /// One torch forward (or training step, with `train`) of `name`: (wall seconds, process CPU seconds), or nil.
        func forward(_ name: String) -> (seconds: Double, cpu: Double)? {
            input.fileHandleForWriting.write(Data((name + "\n").utf8))
            guard let reply = readObject(), let seconds = (reply["seconds"] as? NSNumber)?.doubleValue,
                  let cpu = (reply["cpu_seconds"] as? NSNumber)?.doubleValue else { return nil }
            if let kb = (reply["max_rss_kb"] as? NSNumber)?.doubleValue { peakRSSBytes = kb * 1024 }
            return (seconds, cpu)
        }

        /// The next stdout line parsed as a JSON object (nil at end of output).
        private func readObject() -> [String: Any]? {
            while true {
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = buffer[buffer.startIndex..<newline]
                    buffer.removeSubrange(buffer.startIndex...newline)
                    return (try? JSONSerialization.jsonObject(with: line)) as? [String: Any]
                }
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { return nil }
                buffer.append(chunk)
            }
        }

        func stop() {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    static func paired(pairs: Int, warmup: Int = 2) {
        let script = FileManager.default.currentDirectoryPath + "/tools/bench_torch_forward.py"
        guard FileManager.default.fileExists(atPath: script) else {
            print("torch comparison: \(script) not found (run from the package root)")
            return
        }
        let cases = ForwardBenchmark.cases
        guard let torch = TorchServer(script: script, names: cases.map(\.name), warmup: warmup) else { return }
        defer { torch.stop() }
        print("growkit-bench forward --paired \(pairs): our forward then torch eager's, alternated, "
              + "\(pairs) pairs per config after \(warmup) warmup pairs; batch 8, seq 256, 2 threads each "
              + "(ours: OpenBLAS \(openblas_get_num_threads()) threads, \(ModelWeights.defaultMatmulThreading))")
        for c in cases {
            do {
                let weights = try ModelWeights(config: c.config, parameters: ForwardBenchmark.randomParameters(c.config))
                let acts = try Activations(config: c.config, batchSize: c.batchSize, seqLen: c.seqLen,
                                           keepForBackward: false)
                let n = c.batchSize * c.seqLen
                let tokens = (0..<n).map { Int32(($0 * 7919) % c.config.vocabSize) }
                var ours: [(seconds: Double, cpu: Double)] = [], theirs = ours
                for i in 0..<(pairs + warmup) {
                    let t0 = BenchClock.wall(), c0 = BenchClock.processCPU()
                    try weights.forward(tokens: tokens, activations: acts)
                    let mine = (BenchClock.wall() - t0, BenchClock.processCPU() - c0)
                    guard let other = torch.forward(c.name) else {
                        print("torch comparison: no reply from \(script) for \(c.name)")
                        return
                    }
                    if i >= warmup {
                        ours.append(mine)
                        theirs.append(other)
                    }
                }
                report(c, ours: ours, theirs: theirs, tokens: Double(n))
            } catch {
                print("\(c.name): error: \(error)")
            }
        }
    }

    static func report(_ c: ForwardBenchmark.Case, ours: [(seconds: Double, cpu: Double)],
                       theirs: [(seconds: Double, cpu: Double)], tokens: Double) {
        let median = ForwardBenchmark.median
        let ratios = zip(ours, theirs).map { $1.seconds / $0.seconds }
        let cpuRatios = zip(ours, theirs).map { $1.cpu / $0.cpu }
        let sorted = ratios.sorted()
        let quartiles = (sorted[sorted.count / 4], sorted[(3 * sorted.count) / 4])
        print(String(format: "%@ forward: ours %.0f tokens/s (%.1f ms CPU per forward), torch eager %.0f tokens/s "
                     + "(%.1f ms CPU); per pair ours/torch median %.2f (quartiles %.2f-%.2f, min %.2f, max %.2f, "
                     + "%d pairs); CPU time torch/ours median %.2f",
                     c.name, tokens / median(ours.map(\.seconds)), median(ours.map(\.cpu)) * 1e3,
                     tokens / median(theirs.map(\.seconds)), median(theirs.map(\.cpu)) * 1e3,
                     median(ratios), quartiles.0, quartiles.1, sorted.first!, sorted.last!, ratios.count,
                     median(cpuRatios)))
    }
}
