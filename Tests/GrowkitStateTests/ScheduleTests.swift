import Numerics
import Testing
@testable import GrowkitState

/// Every expected value below is computed by hand from the formulas of
/// docs/FORMAT.md ("`/schedule`"), not by the code under test. The rate is
/// computed in float64 from a handful of operations, so a relative tolerance of
/// 1e-12 leaves room only for rounding.
@Suite struct ScheduleTests {
    func expectRate(_ schedule: Schedule, _ step: Int, _ expected: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        let rate = schedule.learningRate(atStep: step)
        #expect(rate.isApproximatelyEqual(to: expected, absoluteTolerance: 1e-18, relativeTolerance: 1e-12),
                "step \(step): \(rate) != \(expected)", sourceLocation: sourceLocation)
    }

    // p = 1e-3, m = 1e-4, W = 10, T = 110 (decay over 100 steps).
    let cosine = Schedule(kind: .cosine, peakLR: 1e-3, minLR: 1e-4, warmupSteps: 10, totalSteps: 110)

    @Test func cosineWarmupPeakDecayEnd() {
        expectRate(cosine, 0, 1e-4)          // p * 1/10
        expectRate(cosine, 4, 5e-4)          // p * 5/10
        expectRate(cosine, 9, 1e-3)          // p * 10/10: warmup ends at the peak
        expectRate(cosine, 10, 1e-3)         // progress 0: cos 0 = 1 -> p
        expectRate(cosine, 35, 1e-4 + 9e-4 * (1 + 0.5.squareRoot()) / 2)  // progress 1/4: cos(pi/4) = sqrt(2)/2
        expectRate(cosine, 60, 5.5e-4)       // progress 1/2: cos(pi/2) = 0 -> (p + m) / 2
        expectRate(cosine, 110, 1e-4)        // progress 1 -> m
        expectRate(cosine, 5000, 1e-4)       // after the end stays at m
    }

    @Test func linearWarmupDecayEnd() {
        let linear = Schedule(kind: .linear, peakLR: 1e-3, minLR: 1e-4, warmupSteps: 10, totalSteps: 110)
        expectRate(linear, 0, 1e-4)
        expectRate(linear, 10, 1e-3)
        expectRate(linear, 35, 7.75e-4)      // p + (m - p) / 4 = 1e-3 - 2.25e-4
        expectRate(linear, 60, 5.5e-4)
        expectRate(linear, 110, 1e-4)
        expectRate(linear, 111, 1e-4)
    }

    @Test func constantWithWarmup() {
        let constant = Schedule(kind: .constant, peakLR: 3e-4, minLR: 0, warmupSteps: 5, totalSteps: 100)
        expectRate(constant, 2, 3e-4 * 3 / 5)
        expectRate(constant, 5, 3e-4)
        expectRate(constant, 1_000_000, 3e-4)
    }

    @Test func warmupStableDecay() {
        // p = 1e-3, m = 0, W = 10, T = 100, D = 20: stable until step 80, then linear to 0 at 100.
        let wsd = Schedule(kind: .wsd, peakLR: 1e-3, minLR: 0, warmupSteps: 10, totalSteps: 100, decaySteps: 20)
        expectRate(wsd, 0, 1e-4)
        expectRate(wsd, 50, 1e-3)
        expectRate(wsd, 79, 1e-3)
        expectRate(wsd, 80, 1e-3)            // decay progress 0
        expectRate(wsd, 90, 5e-4)            // progress 1/2
        expectRate(wsd, 95, 2.5e-4)          // progress 3/4
        expectRate(wsd, 100, 0)
        expectRate(wsd, 200, 0)
    }

    @Test func rewarmMultipliesTheScheduleValue() {
        let constant = Schedule(kind: .constant, peakLR: 2e-3, totalSteps: 1000, rewarmStart: 100, rewarmSteps: 4)
        expectRate(constant, 99, 2e-3)       // before the segment
        expectRate(constant, 100, 0.5e-3)    // 1/4
        expectRate(constant, 101, 1e-3)      // 2/4
        expectRate(constant, 103, 2e-3)      // 4/4
        expectRate(constant, 104, 2e-3)      // after the segment
        // On the cosine schedule at its midpoint: (p + m) / 2 = 5.5e-4, times 2/4.
        var rewarmed = cosine
        rewarmed.rewarmStart = 59
        rewarmed.rewarmSteps = 4
        expectRate(rewarmed, 60, 2.75e-4)
        expectRate(rewarmed, 63, cosine.learningRate(atStep: 63))
    }

    @Test func zeroLengthDecayIsFinished() {
        // T <= W: the value after warmup is m.
        let linear = Schedule(kind: .linear, peakLR: 1e-3, minLR: 1e-5, warmupSteps: 10, totalSteps: 5)
        expectRate(linear, 9, 1e-3)
        expectRate(linear, 10, 1e-5)
        let cosineShort = Schedule(kind: .cosine, peakLR: 1e-3, minLR: 1e-5, warmupSteps: 10, totalSteps: 10)
        expectRate(cosineShort, 10, 1e-5)
        // wsd with D = 0: p until T, then m.
        let wsd = Schedule(kind: .wsd, peakLR: 1e-3, minLR: 1e-5, warmupSteps: 0, totalSteps: 100, decaySteps: 0)
        expectRate(wsd, 99, 1e-3)
        expectRate(wsd, 100, 1e-5)
    }

    @Test func problemsNameTheAttribute() {
        #expect(cosine.problem() == nil)
        var bad = cosine
        bad.rewarmStart = 3
        #expect(bad.problem()?.contains("rewarm_steps") == true)
        bad = cosine
        bad.peakLR = .nan
        #expect(bad.problem()?.contains("peak_lr") == true)
        bad = Schedule(kind: .wsd, peakLR: 1, totalSteps: 10, decaySteps: -1)
        #expect(bad.problem()?.contains("decay_steps") == true)
    }
}
