import GrowkitState

/// Tolerances of ``GradientConsistency`` in float32 (docs/VERIFY.md, "Gradients").
///
/// - Gradients: entry `e` of grown tensor `T` passes when `|g'_e - s_e g_src(e)| <= gradient * r_T`
///   with `r_T = max(RMS over T's checked entries of s_e g_src(e), RMS of the grown gradient over
///   T's module group)`: scaled by the tensor's gradient size, so entries whose gradient is ~0
///   cannot produce spurious relative errors; and never below the size of the group's gradients,
///   because a tensor whose exact gradient vanishes (the key bias: softmax ignores a per-query
///   constant) holds only rounding noise of sums whose terms are as large as its neighbours' gradients.
/// - Moments: `|m'_e - s_e m_src(e)| <= moments * (|s_e m_src(e)| + 1e-6 RMS_T(s m))` for `exp_avg`, and
///   the same with `s_e^2` for `exp_avg_sq`: `grow` multiplies each stored float32 by a float32 scale
///   (two or three roundings, under 2e-7 relative), so elementwise relative bounds apply.
public struct GradientTolerance: Sendable, Hashable, Codable {
    /// Relative to the tensor's gradient RMS. Default 1e-3 (float32 sums over `B T` positions and
    /// hidden or vocabulary dimensions, in a different order and over more terms in the grown model;
    /// measured worst errors of exact growths are 0 to 3e-5 of `r_T`, docs/VERIFY.md).
    public var gradient: Double
    /// Elementwise relative, for the stored moments. Default 1e-6.
    public var moments: Double

    public init(gradient: Double = 1e-3, moments: Double = 1e-6) {
        self.gradient = gradient
        self.moments = moments
    }

    public static let float32 = GradientTolerance()

    func check() throws(VerifyError) {
        guard gradient.isFinite, gradient >= 0 else { throw .invalidTolerance(name: "the gradient tolerance", value: gradient) }
        guard moments.isFinite, moments >= 0 else { throw .invalidTolerance(name: "the moment tolerance", value: moments) }
    }

    enum CodingKeys: String, CodingKey { case gradient = "gradient_relative_to_rms", moments = "moments_relative" }
}

/// One entry that misses its tolerance.
public struct GradientMismatch: Sendable, Hashable, Codable {
    public enum Quantity: String, Sendable, Hashable, Codable {
        case gradient, expAvg = "exp_avg", expAvgSq = "exp_avg_sq", step
    }

    /// The grown tensor (dotted name).
    public var tensor: String
    public var quantity: Quantity
    /// The grown entry's index per axis (empty for `step`).
    public var index: [Int]
    /// The source tensor and entry it was checked against (`nil` for a new entry, expected 0).
    public var source: String?
    public var sourceIndex: [Int]?
    /// `s` of the entry (the scale of `exp_avg`; `exp_avg_sq` uses `s^2`); `nil` for new entries.
    public var scale: Double?
    public var expected: Double
    public var found: Double
    /// `|found - expected|` over the tolerance's denominator (see ``GradientTolerance``).
    public var relativeError: Double

    enum CodingKeys: String, CodingKey {
        case tensor, quantity, index, source, sourceIndex = "source_index", scale, expected, found
        case relativeError = "relative_error"
    }
}

/// The figures of one group of tensors (a module kind, or one tensor with `perTensor`).
public struct GradientGroupRow: Sendable, Hashable, Codable {
    /// `embeddings`, `attention q/k/v`, `o_proj`, `mlp`, `norms`, `head`, or a tensor name.
    public var group: String
    public var tensors: Int
    /// Grown entries with a source whose gradient was compared with `s` times the source's.
    public var gradientEntries: Int
    /// Grown entries without a source (or in tensors with fresh moments): moments must be 0.
    public var freshEntries: Int
    /// Worst `|g' - s g| / r_T` (see ``GradientTolerance``), 0 with no entry.
    public var worstGradientError: Double
    /// Worst elementwise relative error of `exp_avg'` against `s exp_avg`, and of `exp_avg_sq'` against `s^2 exp_avg_sq`.
    public var worstExpAvgError: Double
    public var worstExpAvgSqError: Double
    public var gradientMismatches: Int
    /// Mismatching moment entries (both moments, including nonzero moments at new entries) and tensor steps.
    public var momentMismatches: Int
    public var stepMismatches: Int

    init(group: String) {
        self.group = group
        tensors = 0
        gradientEntries = 0
        freshEntries = 0
        worstGradientError = 0
        worstExpAvgError = 0
        worstExpAvgSqError = 0
        gradientMismatches = 0
        momentMismatches = 0
        stepMismatches = 0
    }

    mutating func add(_ other: GradientGroupRow) {
        tensors += other.tensors
        gradientEntries += other.gradientEntries
        freshEntries += other.freshEntries
        worstGradientError = max(worstGradientError, other.worstGradientError)
        worstExpAvgError = max(worstExpAvgError, other.worstExpAvgError)
        worstExpAvgSqError = max(worstExpAvgSqError, other.worstExpAvgSqError)
        gradientMismatches += other.gradientMismatches
        momentMismatches += other.momentMismatches
        stepMismatches += other.stepMismatches
    }

    enum CodingKeys: String, CodingKey {
        case group, tensors, gradientEntries = "gradient_entries", freshEntries = "fresh_entries"
        case worstGradientError = "worst_gradient_error", worstExpAvgError = "worst_exp_avg_error"
        case worstExpAvgSqError = "worst_exp_avg_sq_error", gradientMismatches = "gradient_mismatches"
        case momentMismatches = "moment_mismatches", stepMismatches = "step_mismatches"
    }
}

/// The outcome of ``GradientConsistency/check(plan:optimizer:claimedExact:source:grown:sourceMoments:grownMoments:batches:tolerance:perTensor:names:)``.
public struct GradientConsistencyResult: Sendable, Hashable, Codable {
    public enum Verdict: String, Sendable, Hashable, Codable {
        /// Every gradient and moment within tolerance.
        case consistent
        /// Claimed exact, but a gradient or a moment misses: the check fails.
        case inconsistent
        /// Gradients beyond tolerance for an operator that does not claim them: not exact, or
        /// HyperCloning's symmetry-breaking noise (exact function, approximate gradients).
        case approximateByDesign = "approximate_by_design"
    }

    /// The growth record's `exact`: whether a miss fails.
    public var claimedExact: Bool
    /// The growth adds symmetry-breaking noise (`duplicate:N,snr=DB`): gradients are approximate by design.
    public var symmetryBreakingNoise: Bool
    /// `carry` (moments by `s`) or `reset` (every moment 0, every step 0), from the growth record.
    public var optimizer: String
    public var tolerance: GradientTolerance
    public var batches: Int
    public var tokens: Int
    /// Mean loss of each model over the batches (the two agree for a function-preserving growth).
    public var sourceLoss: Double
    public var grownLoss: Double
    public var rows: [GradientGroupRow]
    /// All groups together.
    public var total: GradientGroupRow
    /// The first few mismatches (at most ``GradientConsistency/mismatchLimit``), in tensor order.
    public var mismatches: [GradientMismatch]
    /// False when a side was weights-only: the gradients were checked, the moments and steps were not.
    public var momentsChecked: Bool = true

    public var gradientsWithinTolerance: Bool { total.gradientMismatches == 0 }
    public var momentsWithinTolerance: Bool { total.momentMismatches == 0 && total.stepMismatches == 0 }

    public var verdict: Verdict {
        if gradientsWithinTolerance && momentsWithinTolerance { return .consistent }
        if !claimedExact { return .approximateByDesign }
        if !momentsWithinTolerance { return .inconsistent }
        return symmetryBreakingNoise ? .approximateByDesign : .inconsistent
    }

    /// False only when a growth that claims exactness misses (moments always; gradients unless noise was added).
    public var passed: Bool { verdict != .inconsistent }

    /// What missed, as a phrase naming the first mismatch, or `nil`.
    public var failureSummary: String? {
        guard verdict == .inconsistent else { return nil }
        var parts: [String] = []
        if !gradientsWithinTolerance && !symmetryBreakingNoise {
            parts.append("\(total.gradientMismatches) gradient entr\(total.gradientMismatches == 1 ? "y misses" : "ies miss") g' = s g")
        }
        if total.momentMismatches > 0 {
            parts.append("\(total.momentMismatches) moment entr\(total.momentMismatches == 1 ? "y misses" : "ies miss") the rule")
        }
        if total.stepMismatches > 0 { parts.append("\(total.stepMismatches) tensor step\(total.stepMismatches == 1 ? " differs" : "s differ")") }
        let first = mismatches.first(where: { $0.quantity != .gradient || !symmetryBreakingNoise })
        if let first {
            let at = first.index.isEmpty ? "" : " [\(first.index.map(String.init).joined(separator: ", "))]"
            let (expected, found) = first.quantity == .step ? ("\(Int(first.expected))", "\(Int(first.found))")
                : (sci(first.expected), sci(first.found))
            parts.append("first \(first.quantity.rawValue) of \(first.tensor)\(at): expected \(expected), found \(found)")
        }
        return parts.joined(separator: "; ")
    }

    enum CodingKeys: String, CodingKey {
        case claimedExact = "claimed_exact", symmetryBreakingNoise = "symmetry_breaking_noise", optimizer, tolerance
        case batches, tokens, sourceLoss = "source_loss", grownLoss = "grown_loss", rows, total, mismatches
        case gradientsWithinTolerance = "gradients_within_tolerance", momentsWithinTolerance = "moments_within_tolerance"
        case verdict, passed, momentsChecked = "moments_checked"
    }

    public init(claimedExact: Bool, symmetryBreakingNoise: Bool, optimizer: String, tolerance: GradientTolerance,
                batches: Int, tokens: Int, sourceLoss: Double, grownLoss: Double, rows: [GradientGroupRow],
                mismatches: [GradientMismatch]) {
        self.claimedExact = claimedExact
        self.symmetryBreakingNoise = symmetryBreakingNoise
        self.optimizer = optimizer
        self.tolerance = tolerance
        self.batches = batches
        self.tokens = tokens
        self.sourceLoss = sourceLoss
        self.grownLoss = grownLoss
        self.rows = rows
        var total = GradientGroupRow(group: "all")
        for row in rows { total.add(row) }
        self.total = total
        self.mismatches = mismatches
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(claimedExact: try c.decode(Bool.self, forKey: .claimedExact),
                  symmetryBreakingNoise: try c.decode(Bool.self, forKey: .symmetryBreakingNoise),
                  optimizer: try c.decode(String.self, forKey: .optimizer),
                  tolerance: try c.decode(GradientTolerance.self, forKey: .tolerance),
                  batches: try c.decode(Int.self, forKey: .batches), tokens: try c.decode(Int.self, forKey: .tokens),
                  sourceLoss: try c.decode(Double.self, forKey: .sourceLoss), grownLoss: try c.decode(Double.self, forKey: .grownLoss),
                  rows: try c.decode([GradientGroupRow].self, forKey: .rows),
                  mismatches: try c.decode([GradientMismatch].self, forKey: .mismatches))
        momentsChecked = try c.decodeIfPresent(Bool.self, forKey: .momentsChecked) ?? true
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(claimedExact, forKey: .claimedExact)
        try c.encode(symmetryBreakingNoise, forKey: .symmetryBreakingNoise)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(tolerance, forKey: .tolerance)
        try c.encode(batches, forKey: .batches)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(sourceLoss, forKey: .sourceLoss)
        try c.encode(grownLoss, forKey: .grownLoss)
        try c.encode(rows, forKey: .rows)
        try c.encode(total, forKey: .total)
        try c.encode(mismatches, forKey: .mismatches)
        try c.encode(gradientsWithinTolerance, forKey: .gradientsWithinTolerance)
        try c.encode(momentsWithinTolerance, forKey: .momentsWithinTolerance)
        try c.encode(verdict, forKey: .verdict)
        try c.encode(passed, forKey: .passed)
        try c.encode(momentsChecked, forKey: .momentsChecked)
    }
}
