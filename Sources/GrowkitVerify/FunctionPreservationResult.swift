import Foundation
import GrowkitState

/// DESIGN section 6's tolerances of function preservation, in float32.
///
/// A comparison is within tolerance when
/// `max |z' - z| <= logits` over every batch, row, position and vocabulary entry, and
/// `|L' - L| <= loss * max(1, L)`, with `L`, `L'` the source's and the grown model's mean loss.
public struct FunctionPreservationTolerance: Sendable, Hashable, Codable {
    /// Absolute bound on `max |dlogit|`.
    public var logits: Double
    /// Relative bound on `|dloss|`, scaled by `max(1, L_source)`.
    public var loss: Double

    public init(logits: Double = 1e-4, loss: Double = 1e-5) {
        self.logits = logits
        self.loss = loss
    }

    /// 1e-4 on logits, 1e-5 relative on the loss (DESIGN section 6).
    public static let float32 = FunctionPreservationTolerance()

    /// `loss * max(1, sourceLoss)`: the bound on `|dloss|` for this source loss.
    public func lossBound(sourceLoss: Double) -> Double { loss * max(1, sourceLoss) }

    func check() throws(VerifyError) {
        guard logits.isFinite, logits >= 0 else { throw .invalidTolerance(name: "the logit tolerance", value: logits) }
        guard loss.isFinite, loss >= 0 else { throw .invalidTolerance(name: "the loss tolerance", value: loss) }
    }

    enum CodingKeys: String, CodingKey { case logits = "max_abs_logit_diff", loss = "loss_relative" }
}

/// How the two models are named in messages: their file paths in the CLI.
public struct ModelNames: Sendable, Hashable {
    public var source: String
    public var grown: String

    public init(source: String = "the source model", grown: String = "the grown model") {
        self.source = source
        self.grown = grown
    }
}

/// Where the largest logit difference was found (all 0-based).
public struct LogitLocation: Sendable, Hashable, Codable {
    public var batch: Int
    public var row: Int
    public var position: Int
    /// The vocabulary entry (token id) whose logit differs most.
    public var token: Int
}

/// Reported after every batch, for the CLI to render.
public struct FunctionPreservationProgress: Sendable {
    /// Batches done, 1-based.
    public var batch: Int
    public var batches: Int
    /// Largest `|dlogit|` so far.
    public var maxLogitDifference: Double
}

/// The outcome of one function-preservation check.
public struct FunctionPreservationResult: Sendable, Hashable, Codable {
    /// What the outcome means for the growth.
    public enum Verdict: String, Sendable, Hashable, Codable {
        /// Claimed exact and within tolerance.
        case preserved
        /// Claimed exact but beyond tolerance: the check fails.
        case notPreserved = "not_preserved"
        /// Not claimed exact and beyond tolerance: the operator changes the function by design.
        case changedByDesign = "changed_by_design"
        /// Not claimed exact, yet within tolerance.
        case preservedUnclaimed = "preserved_unclaimed"
    }

    /// Whether the growth claims function preservation (then beyond tolerance fails).
    public var claimedExact: Bool
    public var tolerance: FunctionPreservationTolerance
    public var batches: Int
    /// `B`, `T` of the first batch (every CLI batch has the same shape).
    public var batchSize: Int
    public var seqLen: Int
    /// Positions scored per model, over all batches.
    public var tokens: Int
    /// `L = (1/N) sum_i L_i`: the mean over batches of the source model's float32 batch losses, in float64.
    public var sourceLoss: Double
    /// `L'`, the same for the grown model.
    public var grownLoss: Double
    /// `|L' - L|`.
    public var lossDifference: Double
    /// `tolerance.loss * max(1, L)`, the bound `lossDifference` is held to.
    public var lossBound: Double
    /// `max |z'[b,t,v] - z[b,t,v]|` over every batch, row, position and vocabulary entry.
    public var maxLogitDifference: Double
    /// Where `maxLogitDifference` was found.
    public var maxLogitLocation: LogitLocation
    /// Per-batch losses `L_i`, `L'_i`.
    public var sourceBatchLosses: [Double]
    public var grownBatchLosses: [Double]

    /// Both figures within their bounds.
    public var withinTolerance: Bool { maxLogitDifference <= tolerance.logits && lossDifference <= lossBound }

    public var verdict: Verdict {
        switch (claimedExact, withinTolerance) {
        case (true, true): .preserved
        case (true, false): .notPreserved
        case (false, false): .changedByDesign
        case (false, true): .preservedUnclaimed
        }
    }

    /// False only when a claimed-exact growth misses a tolerance.
    public var passed: Bool { verdict != .notPreserved }

    /// The figures beyond their bounds, as a phrase (e.g. `max |dlogit| 1.2e-02 exceeds 1e-04`), or `nil`.
    public var exceeded: String? {
        var parts: [String] = []
        if maxLogitDifference > tolerance.logits {
            parts.append("max |dlogit| \(sci(maxLogitDifference)) exceeds the tolerance \(sci(tolerance.logits))")
        }
        if lossDifference > lossBound {
            parts.append("|dloss| \(sci(lossDifference)) (loss \(fixed(sourceLoss)) -> \(fixed(grownLoss))) exceeds the tolerance \(sci(lossBound))")
        }
        return parts.isEmpty ? nil : parts.joined(separator: " and ")
    }

    enum CodingKeys: String, CodingKey {
        case claimedExact = "claimed_exact", tolerance, batches, batchSize = "batch_size", seqLen = "seq_len", tokens
        case sourceLoss = "source_loss", grownLoss = "grown_loss", lossDifference = "abs_loss_diff", lossBound = "loss_bound"
        case maxLogitDifference = "max_abs_logit_diff", maxLogitLocation = "max_abs_logit_diff_at"
        case sourceBatchLosses = "source_batch_losses", grownBatchLosses = "grown_batch_losses"
        case withinTolerance = "within_tolerance", verdict, passed
    }

    public init(claimedExact: Bool, tolerance: FunctionPreservationTolerance, batches: Int, batchSize: Int, seqLen: Int,
                tokens: Int, sourceLoss: Double, grownLoss: Double, maxLogitDifference: Double,
                maxLogitLocation: LogitLocation, sourceBatchLosses: [Double], grownBatchLosses: [Double]) {
        self.claimedExact = claimedExact
        self.tolerance = tolerance
        self.batches = batches
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.tokens = tokens
        self.sourceLoss = sourceLoss
        self.grownLoss = grownLoss
        self.lossDifference = abs(grownLoss - sourceLoss)
        self.lossBound = tolerance.lossBound(sourceLoss: sourceLoss)
        self.maxLogitDifference = maxLogitDifference
        self.maxLogitLocation = maxLogitLocation
        self.sourceBatchLosses = sourceBatchLosses
        self.grownBatchLosses = grownBatchLosses
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            claimedExact: try c.decode(Bool.self, forKey: .claimedExact),
            tolerance: try c.decode(FunctionPreservationTolerance.self, forKey: .tolerance),
            batches: try c.decode(Int.self, forKey: .batches), batchSize: try c.decode(Int.self, forKey: .batchSize),
            seqLen: try c.decode(Int.self, forKey: .seqLen), tokens: try c.decode(Int.self, forKey: .tokens),
            sourceLoss: try c.decode(Double.self, forKey: .sourceLoss), grownLoss: try c.decode(Double.self, forKey: .grownLoss),
            maxLogitDifference: try c.decode(Double.self, forKey: .maxLogitDifference),
            maxLogitLocation: try c.decode(LogitLocation.self, forKey: .maxLogitLocation),
            sourceBatchLosses: try c.decode([Double].self, forKey: .sourceBatchLosses),
            grownBatchLosses: try c.decode([Double].self, forKey: .grownBatchLosses))
    }

    /// Every stored figure plus the derived `within_tolerance`, `verdict` and `passed`, so the JSON is self-contained.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(claimedExact, forKey: .claimedExact)
        try c.encode(tolerance, forKey: .tolerance)
        try c.encode(batches, forKey: .batches)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(seqLen, forKey: .seqLen)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(sourceLoss, forKey: .sourceLoss)
        try c.encode(grownLoss, forKey: .grownLoss)
        try c.encode(lossDifference, forKey: .lossDifference)
        try c.encode(lossBound, forKey: .lossBound)
        try c.encode(maxLogitDifference, forKey: .maxLogitDifference)
        try c.encode(maxLogitLocation, forKey: .maxLogitLocation)
        try c.encode(sourceBatchLosses, forKey: .sourceBatchLosses)
        try c.encode(grownBatchLosses, forKey: .grownBatchLosses)
        try c.encode(withinTolerance, forKey: .withinTolerance)
        try c.encode(verdict, forKey: .verdict)
        try c.encode(passed, forKey: .passed)
    }
}

extension FunctionPreservationResult {
    /// The result as a provenance ``JSONValue`` (the same keys as `verify --json`'s `result`), for
    /// `grow --verify` to store in its record's `verification`. Every figure is finite (the check
    /// throws on a non-finite loss or logit), so the encoding cannot fail; `.null` if it ever did.
    public var provenanceValue: JSONValue {
        guard let data = try? JSONEncoder().encode(self),
              let value = try? JSONDecoder().decode(JSONValue.self, from: data) else { return .null }
        return value
    }
}

/// `1.23e-05`: the figures of a comparison.
func sci(_ value: Double) -> String { String(format: "%.2e", value) }
/// `5.545177`: a loss.
func fixed(_ value: Double) -> String { String(format: "%.6f", value) }
