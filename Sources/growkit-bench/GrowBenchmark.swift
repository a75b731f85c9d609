import Foundation
import GrowkitCheckpoint
import GrowkitGrowth
import GrowkitState
#if canImport(Glibc)
import Glibc
#endif

/// `growkit-bench grow [--dir DIR] [--quick] [--rounds R] [--ops OP;OP...]`
///
/// `growkit grow` on a GPT-2 124M-shaped training state with both moments
/// (1.49 GB; `--quick`: 2 layers), run as a child process, against the same
/// number of output bytes written as one plain fsynced file in the same run:
/// 1. wall time of the grow / wall time of the plain write (target <= 1.25);
/// 2. the grow's peak resident memory (the child's `ru_maxrss`) against
///    3 x the largest output tensor + 100 MB (target).
/// Operators: `--depth stack:2` and `--width duplicate:2`, by default; best of `--rounds` (2) each.
enum GrowBenchmark {
    static func run(arguments: [String]) {
        var folder = "/tmp", quick = false, rounds = 2
        var operations = [["--depth", "stack:2"], ["--width", "duplicate:2"]]
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--dir" where i + 1 < arguments.count: folder = arguments[i + 1]; i += 1
            case "--quick": quick = true
            case "--rounds" where i + 1 < arguments.count: rounds = max(1, Int(arguments[i + 1]) ?? 2); i += 1
            case "--ops" where i + 1 < arguments.count:
                operations = arguments[i + 1].split(separator: ";").map { $0.split(separator: " ").map(String.init) }
                i += 1
            default: print("usage: growkit-bench grow [--dir DIR] [--quick] [--rounds R] [--ops '--depth stack:2;--width duplicate:2']"); return
            }
            i += 1
        }
        do {
            try measure(folder: folder, layers: quick ? 2 : 12, operations: operations, rounds: rounds)
        } catch {
            print("grow benchmark failed: \(error)")
        }
    }

    static func measure(folder: String, layers: Int, operations: [[String]], rounds: Int) throws {
        let config = ModelConfig.gpt2(vocabSize: 50257, hiddenSize: 768, numLayers: layers, numHeads: 12, maxPosition: 1024)
        let input = folder + "/growkit-bench-grow-in.h5", output = folder + "/growkit-bench-grow-out.h5"
        let plain = folder + "/growkit-bench-grow-plain.bin"
        defer { for path in [input, output, plain] { unlink(path) } }
        try writeSource(config, to: input)
        print(String(format: "source: GPT-2 124M shapes, %d layers, %d parameters, %.2f GB with both moments",
                     layers, config.parameterCount, Double(12 * config.parameterCount) / 1e9))
        let growkit = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("growkit").path

        for operation in operations {
            let plan = try GrowthPlan(source: config, depth: operation.first == "--depth" ? OperatorSyntax.depth(operation[1]) : nil,
                                      width: operation.first == "--width" ? OperatorSyntax.width(operation[1]) : nil, seed: 0)
            let outputBytes = 12 * plan.grown.parameterCount
            let largest = 4 * (plan.recipes.map(\.spec.elementCount).max() ?? 0)
            // Best of `rounds`, the two sides alternating (plain first, then grow, then grow, then
            // plain, ...) so neither gains from the other's write-back still in flight.
            var growTimes: [Double] = [], plainTimes: [Double] = [], peak = 0.0
            for round in 0..<rounds {
                for side in (round % 2 == 0 ? [0, 1] : [1, 0]) {
                    if side == 0 {
                        plainTimes.append(try writePlain(bytes: outputBytes, to: plain))
                        unlink(plain)
                    } else {
                        let (seconds, rss) = try child(growkit, ["grow", input, output] + operation)
                        growTimes.append(seconds)
                        peak = max(peak, rss)
                        unlink(output)
                    }
                    sync()
                }
            }
            let growSeconds = growTimes.min()!, plainSeconds = plainTimes.min()!
            let memoryTarget = 3 * Double(largest) + 100e6
            print(String(format: "grow %@ (best of %d): %.2f GB out in %.2f s (%.0f MB/s); plain fsynced write of the same bytes %.2f s; ratio %.2f (target <= 1.25)",
                          operation.joined(separator: " "), rounds, Double(outputBytes) / 1e9, growSeconds,
                          Double(outputBytes) / growSeconds / 1e6, plainSeconds, growSeconds / plainSeconds))
            print(String(format: "  peak RSS %.0f MB; largest output tensor %.0f MB; 3 x largest + 100 MB = %.0f MB; ratio %.2f (target <= 1)",
                          peak / 1e6, Double(largest) / 1e6, memoryTarget / 1e6, peak / memoryTarget))
        }
    }

    /// A state with cheap deterministic values, written one tensor at a time.
    static func writeSource(_ config: ModelConfig, to path: String) throws {
        let metadata = RandomState.fixtureMetadata(config: config, seed: 1, arguments: [:], toolVersion: "bench",
                                                   time: ProvenanceRecord.now())
        unlink(path)
        try StateBenchmark.write(config, metadata: metadata, to: path)
    }

    /// Runs `path arguments` and returns its wall time and peak RSS (bytes); its output is discarded.
    static func child(_ path: String, _ arguments: [String]) throws -> (Double, Double) {
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let start = BenchClock.wall()
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { throw StorageBenchmark.BenchError("cannot start \(path)") }
        var status: Int32 = 0
        var usage = rusage()
        guard wait4(pid, &status, 0, &usage) == pid else { throw StorageBenchmark.BenchError("wait4") }
        let seconds = BenchClock.wall() - start
        guard status == 0 else { throw StorageBenchmark.BenchError("\(path) \(arguments.joined(separator: " ")) exited with status \(status)") }
        return (seconds, Double(usage.ru_maxrss) * 1024)
    }

    /// `bytes` written in 64 MiB `write()` calls into one file, then fsynced.
    static func writePlain(bytes: Int, to path: String) throws -> Double {
        let block = [UInt8](repeating: 7, count: 64 << 20)
        let start = BenchClock.wall()
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw StorageBenchmark.BenchError("open \(path)") }
        defer { close(fd) }
        var left = bytes
        while left > 0 {
            let n = min(left, block.count)
            try block.withUnsafeBytes { try StorageBenchmark.writeAll(fd, $0.baseAddress!, n) }
            left -= n
        }
        guard fsync(fd) == 0 else { throw StorageBenchmark.BenchError("fsync") }
        return BenchClock.wall() - start
    }
}
