#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A learning-rate schedule, stored as the attributes of `/schedule`
/// (docs/FORMAT.md, "`/schedule`"). The rate is a pure function of these
/// numbers and the step, so any trainer can rebuild it.
///
/// With `s` the number of updates already taken (0-based: `learningRate(atStep: s)`
/// is the rate of the update from `s` to `s + 1`), `W = warmupSteps`,
/// `T = totalSteps`, `p = peakLR`, `m = minLR`:
///
///     warmup (s < W):  p * (s + 1) / W
///     constant:        p
///     linear:          p + (m - p) * min(1, (s - W) / (T - W))
///     cosine:          m + (p - m) * (1 + cos(pi * min(1, (s - W) / (T - W)))) / 2
///     wsd:             p while s < T - D, then p + (m - p) * min(1, (s - (T - D)) / D),  D = decaySteps
///     re-warmup:       times (s - R + 1) / Rw  when R <= s < R + Rw   (R = rewarmStart, Rw = rewarmSteps)
///
/// A decay phase of zero length (`T <= W` for linear and cosine, `D = 0` for wsd)
/// counts as finished: the value after it is `m`.
public struct Schedule: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case constant, linear, cosine, wsd
    }

    public var kind: Kind
    public var peakLR: Double
    public var minLR: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    /// Length of the final decay phase of a `wsd` schedule; ignored (and not stored) for other kinds.
    public var decaySteps: Int
    /// Optional re-warmup segment (staged training, after growth): both or neither.
    public var rewarmStart: Int?
    public var rewarmSteps: Int?

    public init(kind: Kind, peakLR: Double, minLR: Double = 0, warmupSteps: Int = 0, totalSteps: Int,
                decaySteps: Int = 0, rewarmStart: Int? = nil, rewarmSteps: Int? = nil) {
        self.kind = kind
        self.peakLR = peakLR
        self.minLR = minLR
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decaySteps = decaySteps
        self.rewarmStart = rewarmStart
        self.rewarmSteps = rewarmSteps
    }

    /// The learning rate of the update that takes the trainer from step `s` to `s + 1`.
    /// Steps below 0 are treated as 0.
    public func learningRate(atStep step: Int) -> Double {
        let s = Double(max(step, 0))
        let p = peakLR, m = minLR
        let w = Double(warmupSteps), t = Double(totalSteps)
        var rate: Double
        if step < warmupSteps {
            rate = p * (s + 1) / w
        } else {
            switch kind {
            case .constant:
                rate = p
            case .linear:
                rate = p + (m - p) * Self.progress(s - w, over: t - w)
            case .cosine:
                rate = m + (p - m) * (1 + cos(Double.pi * Self.progress(s - w, over: t - w))) / 2
            case .wsd:
                // In float64 so no combination of stored integers can overflow.
                let decayStart = t - Double(decaySteps)
                rate = s < decayStart ? p : p + (m - p) * Self.progress(s - decayStart, over: Double(decaySteps))
            }
        }
        if let start = rewarmStart, let length = rewarmSteps, length > 0 {
            let offset = s - Double(start)
            if offset >= 0 && offset < Double(length) { rate *= (offset + 1) / Double(length) }
        }
        return rate
    }

    /// `min(1, done / length)`, where a phase of length <= 0 is already finished.
    private static func progress(_ done: Double, over length: Double) -> Double {
        length <= 0 ? 1 : min(1, done / length)
    }

    /// Largest step count or step index a schedule may hold: 2^53, exact in
    /// float64 (the rate is computed in float64) and far beyond any run, so the
    /// sum of any two such values (`rewarm_start + rewarm_steps`, `s + 1`) never
    /// overflows an Int.
    public static let maxSteps = 1 << 53

    /// The first problem with these numbers as a phrase naming the attribute, or `nil`.
    public func problem() -> String? {
        for (name, value) in [("peak_lr", peakLR), ("min_lr", minLR)] where !(value.isFinite && value >= 0) {
            return "\(name) is \(value); it must be a finite number >= 0"
        }
        var steps = [("warmup_steps", warmupSteps), ("total_steps", totalSteps)]
        if kind == .wsd { steps.append(("decay_steps", decaySteps)) }
        if let rewarmStart { steps.append(("rewarm_start", rewarmStart)) }
        for (name, value) in steps where value < 0 || value > Self.maxSteps {
            return "\(name) is \(value); it must be between 0 and \(Self.maxSteps)"
        }
        switch (rewarmStart, rewarmSteps) {
        case (nil, nil): break
        case (_?, let length?):
            if length < 1 || length > Self.maxSteps { return "rewarm_steps is \(length); it must be between 1 and \(Self.maxSteps)" }
        default:
            return "only one of rewarm_start and rewarm_steps is present; give both or neither"
        }
        return nil
    }
}
