import GrowkitState

/// Where the entries along one axis of a grown tensor come from.
///
/// For grown index `i'`: `sources[i']` is the source index (or `-1`: no
/// source, the entry is new), `valueScales[i']` multiplies the copied value and
/// `gradientScales[i']` is this axis's share of the gradient scale `s`
/// (DESIGN section 5). `replicas[i']` tags which copy of the source space the
/// index belongs to; a block-diagonal recipe (staged training) fills the
/// entries whose axes carry different tags instead of copying them.
public struct AxisMap: Sendable, Hashable {
    public var sources: [Int32]
    public var valueScales: [Float]
    public var gradientScales: [Float]
    public var replicas: [Int32]

    public init(sources: [Int32], valueScales: [Float], gradientScales: [Float], replicas: [Int32]) {
        precondition(valueScales.count == sources.count && gradientScales.count == sources.count
                     && replicas.count == sources.count, "AxisMap arrays must have equal lengths")
        self.sources = sources
        self.valueScales = valueScales
        self.gradientScales = gradientScales
        self.replicas = replicas
    }

    /// `i' -> i` for `i' < size`: the axis is unchanged.
    public static func identity(_ size: Int) -> AxisMap {
        AxisMap(sources: (0..<size).map(Int32.init), valueScales: Array(repeating: 1, count: size),
                gradientScales: Array(repeating: 1, count: size), replicas: Array(repeating: 0, count: size))
    }

    public var count: Int { sources.count }

    /// Whether every grown index has a source.
    public var isComplete: Bool { !sources.contains(-1) }

    /// The same map on an axis of `width` entries per index (heads of `head_dim` entries):
    /// grown entry `h' * width + t` comes from `sources[h'] * width + t`.
    public func expanded(by width: Int) -> AxisMap {
        guard width > 1 else { return self }
        func repeated<T>(_ values: [T]) -> [T] { values.flatMap { Array(repeating: $0, count: width) } }
        return AxisMap(
            sources: sources.flatMap { source in (0..<width).map { source < 0 ? -1 : source * Int32(width) + Int32($0) } },
            valueScales: repeated(valueScales), gradientScales: repeated(gradientScales), replicas: repeated(replicas))
    }
}

/// What an entry with no source gets.
public enum Fill: Sendable, Hashable {
    case zero
    /// Norm gains of new dimensions.
    case one
    /// `N(0, sigma^2)` with `sigma` the RMS of the reference tensor (``TensorRecipe/randomReference``),
    /// or 0.02 (GPT-2's initial scale) when that RMS is 0: new weights at the scale of their neighbours.
    case random
}

/// How one grown tensor is made from the source state: values, Adam moments and step.
///
/// Entry `(i', j')` of a 2-D tensor (1-D tensors have one axis) has a source when
/// every axis maps it to a source index (and, with ``blockDiagonal``, the axes'
/// replica tags agree). Then
///
///     value'      = value[i, j]      * v_i' * v_j' * valueScale
///     exp_avg'    = exp_avg[i, j]    * s,          s = g_i' * g_j' * gradientScale
///     exp_avg_sq' = exp_avg_sq[i, j] * s^2
///
/// with `v`, `g` the axis maps' value and gradient scales: if the grown
/// model's gradient at the entry is `s` times the source gradient, Adam's
/// moments are what they would have been had the grown model been trained all
/// along (DESIGN section 5). Entries without a source get ``fill`` and zero moments.
public struct TensorRecipe: Sendable, Hashable {
    /// The grown tensor.
    public var spec: ParameterSpec
    /// The source parameter (dotted name) whose entries are copied, or `nil` when every entry is new.
    public var source: String?
    /// One map per axis of `spec` (empty when `source` is `nil`).
    public var axes: [AxisMap]
    /// Off-diagonal blocks (axes with different replica tags) are filled, not copied (staged training).
    public var blockDiagonal: Bool
    public var valueScale: Float
    public var gradientScale: Float
    public var fill: Fill
    /// The tensor whose RMS sets the spread of ``Fill/random`` entries (normally the source).
    public var randomReference: String?
    /// Values are copied but the moments start fresh (zero, step 0): the grown gradient
    /// is not a fixed multiple of the source's (weights inside a new identity block,
    /// whose gradient is zero at growth while their source's is not).
    public var freshMoments: Bool
    /// HyperCloning's symmetry-breaking noise: `+N` and `-N` added to paired
    /// input-column blocks, at this signal-to-noise ratio in dB.
    public var noiseSNR: Double?
    /// Seeds this tensor's random fill and noise; with the same growth seed the output is byte-identical.
    public var seed: UInt64

    public init(spec: ParameterSpec, source: String?, axes: [AxisMap], blockDiagonal: Bool = false,
                valueScale: Float = 1, gradientScale: Float = 1, fill: Fill = .zero, randomReference: String? = nil,
                freshMoments: Bool = false, noiseSNR: Double? = nil, seed: UInt64 = 0) {
        self.spec = spec
        self.source = source
        self.axes = axes
        self.blockDiagonal = blockDiagonal
        self.valueScale = valueScale
        self.gradientScale = gradientScale
        self.fill = fill
        self.randomReference = randomReference
        self.freshMoments = freshMoments
        self.noiseSNR = noiseSNR
        self.seed = seed
    }

    /// What this recipe makes of the tensor, for the provenance record.
    public var origin: Origin {
        guard source != nil else { return .new }
        if freshMoments { return .new }
        let complete = axes.allSatisfy(\.isComplete) && !(blockDiagonal && axes.count == 2 && axes.allSatisfy { Set($0.replicas).count > 1 })
        return complete ? .copied : .partlyNew
    }

    public enum Origin: Sendable, Hashable { case copied, partlyNew, new }

    /// A one-line description for `grow --dry-run`.
    public func summary(optimizer: OptimizerTransfer) -> String {
        guard let source else {
            return "new: \(fill == .random ? "random" : fill == .one ? "ones" : "zeros")"
        }
        var parts = ["from \(source)"]
        let sourceShape = axes.map { Int(($0.sources.max() ?? -1) + 1) }
        if sourceShape != spec.shape { parts.append("\(sourceShape) -> \(spec.shape)") }
        if blockDiagonal { parts.append("block-diagonal") }
        if valueScale != 1 { parts.append("x \(valueScale)") }
        let scales = Set(axes.flatMap { $0.valueScales })
        if scales.contains(where: { $0 != 1 }) { parts.append("input columns / copies") }
        if origin == .partlyNew { parts.append("new entries: \(fill == .random ? "random" : fill == .one ? "ones" : "zeros")") }
        if noiseSNR != nil { parts.append("noise +-N") }
        if freshMoments || optimizer == .reset { parts.append("fresh moments") }
        else {
            let scales = axes.reduce(Set([gradientScale])) { products, axis in
                Set(products.flatMap { p in Set(axis.gradientScales).map { p * $0 } })
            }
            parts.append("s = " + scales.sorted().map { "\($0)" }.joined(separator: " | "))
        }
        return parts.joined(separator: ", ")
    }
}
