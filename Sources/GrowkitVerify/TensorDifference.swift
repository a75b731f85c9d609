/// How two tensors of the same shape differ, element by element.
///
/// With `a` the tensor of the first state and `b` the second's, over the `n` elements:
/// `max |a - b|`, the norms `||a||`, `||a - b||` (Euclidean, accumulated in float64),
/// the relative RMS difference `||a - b|| / ||a||` (the RMS of the difference over the RMS
/// of `a`: the `1/n` cancels), and whether the two are bit-identical.
public struct TensorDifference: Sendable, Hashable, Codable {
    public var elements: Int
    /// Elements whose bit patterns differ (so `-0` vs `0` and two different NaNs count).
    public var differingElements: Int
    /// Elements where `a - b` is NaN or infinite (a non-finite value on either side); left out of the figures below.
    public var nonFiniteDifferences: Int
    /// `max |a_i - b_i|` over the finite differences, 0 when there are none.
    public var maxAbsDifference: Double
    /// `||a||`.
    public var normA: Double
    /// `||a - b||`.
    public var normDifference: Double

    /// `||a - b|| / ||a||`. Defined when `||a|| = 0`: 0 when `b` is zero too, else 1 (all of
    /// `b` is new: a fresh zero moment that training filled in differs by 100%).
    public var relativeRMSDifference: Double {
        if normA > 0 { return normDifference / normA }
        return normDifference > 0 ? 1 : 0
    }

    /// Every element's bits equal.
    public var identical: Bool { differingElements == 0 }

    /// Compares `a` and `b` element by element; they must hold the same number of elements
    /// (the caller compares shapes first).
    public init(_ a: [Float], _ b: [Float]) {
        precondition(a.count == b.count, "TensorDifference compares tensors of equal size")
        var differing = 0, nonFinite = 0
        var maxAbs = 0.0, sumA = 0.0, sumD = 0.0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                for i in 0..<a.count {
                    let x = a[i], y = b[i]
                    let ax = Double(x)
                    if x.isFinite { sumA += ax * ax }
                    guard x.bitPattern != y.bitPattern else { continue }
                    differing += 1
                    let d = abs(ax - Double(y))
                    guard d.isFinite else { nonFinite += 1; continue }
                    if d > maxAbs { maxAbs = d }
                    sumD += d * d
                }
            }
        }
        elements = a.count
        differingElements = differing
        nonFiniteDifferences = nonFinite
        maxAbsDifference = maxAbs
        normA = sumA.squareRoot()
        normDifference = sumD.squareRoot()
    }

    enum CodingKeys: String, CodingKey {
        case elements, differingElements = "differing_elements", nonFiniteDifferences = "non_finite_differences"
        case maxAbsDifference = "max_abs_diff", normA = "norm_a", normDifference = "norm_diff"
        case relativeRMSDifference = "relative_rms_diff", identical = "bit_identical"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        elements = try c.decode(Int.self, forKey: .elements)
        differingElements = try c.decode(Int.self, forKey: .differingElements)
        nonFiniteDifferences = try c.decode(Int.self, forKey: .nonFiniteDifferences)
        maxAbsDifference = try c.decode(Double.self, forKey: .maxAbsDifference)
        normA = try c.decode(Double.self, forKey: .normA)
        normDifference = try c.decode(Double.self, forKey: .normDifference)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(elements, forKey: .elements)
        try c.encode(differingElements, forKey: .differingElements)
        try c.encode(nonFiniteDifferences, forKey: .nonFiniteDifferences)
        try c.encode(maxAbsDifference, forKey: .maxAbsDifference)
        try c.encode(normA, forKey: .normA)
        try c.encode(normDifference, forKey: .normDifference)
        try c.encode(relativeRMSDifference, forKey: .relativeRMSDifference)
        try c.encode(identical, forKey: .identical)
    }
}
