import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The two clocks every benchmark reads.
enum BenchClock {
    /// Monotonic wall time, in seconds.
    static func wall() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    /// CPU seconds used by all threads of this process: a work measure that other
    /// processes' load inflates far less than wall time (the machine is shared).
    static func processCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
