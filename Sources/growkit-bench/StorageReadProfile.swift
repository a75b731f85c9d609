import GrowkitStorage
#if canImport(Glibc)
import Glibc
#endif

extension StorageBenchmark {
    /// `growkit-bench storage --read-profile N [--dir DIR] [--quick]`: writes the
    /// GPT-2 124M state once (growkit and plain), then reads both warm N times,
    /// printing each round's wall and CPU seconds. For profiling the warm read
    /// (`perf record -g -- growkit-bench storage --read-profile 20`); the
    /// verification of the read-back is outside the timed regions as in
    /// `throughput`. `--only h5|plain` reads one side only; `--cold` drops both
    /// files from the page cache before each read.
    static func readProfile(folder: String, copies: Int, rounds: Int, threads: Int?, only: String?, cold: Bool) throws {
        let tensors = gpt2Tensors()
        let groups = ["params", "optimizer/exp_avg", "optimizer/exp_avg_sq"].prefix(copies)
        let largest = tensors.map(\.count).max()!
        let totalBytes = Double(tensors.map(\.count).reduce(0, +) * 4 * groups.count)
        let source = randomNormal(count: largest, seed: 1)
        var back = [Float](repeating: 0, count: largest)
        let h5Path = folder + "/growkit-bench-readprofile.h5"
        let rawPath = folder + "/growkit-bench-readprofile.bin"
        defer { unlink(h5Path); unlink(rawPath) }
        unlink(h5Path); unlink(rawPath)
        try writeStateH5(h5Path, groups: groups, tensors: tensors, source: source)
        try writeStatePlain(rawPath, groups: groups, tensors: tensors, source: source)
        print("read profile: \(fmt(totalBytes / 1e6, 1)) MB, \(tensors.count * groups.count) tensors, \(cold ? "cold" : "warm"), \(rounds) rounds\(threads.map { ", readThreads \($0)" } ?? "")")
        print("  round  growkit MB/s  CPU s   no read-ahead  CPU s   plain MB/s  CPU s   plain/growkit wall: with, without read-ahead")
        for round in 0..<rounds {
            if cold { dropCache(h5Path); dropCache(rawPath) }
            let h5 = only == "plain" ? (wall: Double.nan, cpu: Double.nan) : try measured {
                try timedReadH5(h5Path, groups: groups, tensors: tensors, source: source, into: &back, threads: threads)
            }
            if cold { dropCache(h5Path); dropCache(rawPath) }
            let sequential = only == "plain" ? (wall: Double.nan, cpu: Double.nan) : try measured {
                try timedReadH5(h5Path, groups: groups, tensors: tensors, source: source, into: &back, threads: threads, readAhead: false)
            }
            if cold { dropCache(h5Path); dropCache(rawPath) }
            let raw = only == "h5" ? (wall: Double.nan, cpu: Double.nan) : try measured {
                try timedReadPlain(rawPath, groups: groups, tensors: tensors, source: source, into: &back)
            }
            print("  \(pad("\(round)", 5))  \(pad(fmt(totalBytes / 1e6 / h5.wall, 0), 12))  \(pad(fmt(h5.cpu, 3), 6))  \(pad(fmt(totalBytes / 1e6 / sequential.wall, 0), 13))  \(pad(fmt(sequential.cpu, 3), 6))  \(pad(fmt(totalBytes / 1e6 / raw.wall, 0), 10))  \(pad(fmt(raw.cpu, 3), 6))  \(fmt(raw.wall / h5.wall, 2)), \(fmt(raw.wall / sequential.wall, 2))")
        }
    }
}
