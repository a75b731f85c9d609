#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much memory this process can still allocate, so that a size declared by
/// a file is checked before it is allocated (a failed allocation in Swift is a
/// crash, not an error).
public enum SystemMemory {
    /// The smallest of: the kernel's `MemAvailable`, what the cgroup (v2) still
    /// allows, and what the address-space limit (`ulimit -v`) leaves beside the
    /// current mapping. Falls back to physical memory when none is readable.
    public static func availableBytes() -> Int {
        var limits: [Int] = []
        if let available = meminfo("MemAvailable:") { limits.append(available) }
        if let max = readNumber("/sys/fs/cgroup/memory.max"), let current = readNumber("/sys/fs/cgroup/memory.current") {
            limits.append(Swift.max(0, max - current))
        }
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0 && limit.rlim_cur != rlim_t.max {
            let cap = Int(clamping: limit.rlim_cur)
            let used = statusField("VmSize:") ?? 0
            limits.append(Swift.max(0, cap - used))
        }
        if let smallest = limits.min() { return smallest }
        return Int(sysconf(Int32(_SC_PHYS_PAGES))) &* Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// "1.23 GB" for messages.
    public static func describe(_ bytes: Int) -> String {
        let gb = Double(bytes) / 1e9
        if gb >= 0.1 { return formatted(gb, "GB") }
        return formatted(Double(bytes) / 1e6, "MB")
    }

    private static func formatted(_ value: Double, _ unit: String) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) \(unit)"
    }

    private static func meminfo(_ key: String) -> Int? { field(key, in: "/proc/meminfo") }
    private static func statusField(_ key: String) -> Int? { field(key, in: "/proc/self/status") }

    /// A "Key:   123 kB" line of a /proc file, in bytes.
    private static func field(_ key: String, in path: String) -> Int? {
        guard let text = readSmallFile(path) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            let parts = line.dropFirst(key.count).split(separator: " ", omittingEmptySubsequences: true)
            guard let value = parts.first.flatMap({ Int($0) }) else { return nil }
            let (bytes, overflow) = value.multipliedReportingOverflow(by: parts.count > 1 && parts[1] == "kB" ? 1024 : 1)
            return overflow ? Int.max : bytes
        }
        return nil
    }

    private static func readNumber(_ path: String) -> Int? {
        guard let text = readSmallFile(path) else { return nil }
        return Int(text.split(separator: "\n").first ?? "")  // "max" (no limit) is nil
    }

    /// A small file from /proc or /sys (they report size 0, so read until EOF, at most 64 KiB).
    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
            if n <= 0 { break }
            total += n
        }
        return String(decoding: buffer[0..<total], as: UTF8.self)
    }
}
