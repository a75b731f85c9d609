import GrowkitRandom
import GrowkitState

/// A width operator (DESIGN section 5). `head_dim` stays fixed; heads and kv heads grow.
public enum WidthOperator: Sendable, Hashable {
    /// Target sizes; `nil` keeps the source's, or multiplies it by `factor` when one is given
    /// (one kv head stays one, as with duplicate).
    public struct Target: Sendable, Hashable {
        public var hidden: Int?
        public var intermediate: Int?
        public var heads: Int?
        public var kvHeads: Int?
        public var factor: Int?

        public init(hidden: Int? = nil, intermediate: Int? = nil, heads: Int? = nil, kvHeads: Int? = nil, factor: Int? = nil) {
            self.hidden = hidden
            self.intermediate = intermediate
            self.heads = heads
            self.kvHeads = kvHeads
            self.factor = factor
        }
    }

    /// HyperCloning (Samragh et al. 2024): every hidden vector becomes `n` stacked
    /// copies; linears tiled in both dimensions and divided by `n` along their input;
    /// heads and kv heads times `n` (one kv head stays one). Tied head: the final
    /// norm is divided by `n` instead. Optional noise at `snr` dB that cancels exactly.
    /// `s = 1/n` wherever the output is duplicated; `1` for an untied head and a tied model's final norm.
    case duplicate(Int, snr: Double?)
    /// Staged training (Shen et al. 2022), `n = 2`: block-diagonal `[[W, 0], [0, W]]`
    /// (no division), embeddings `[E | E]`, norms duplicated, final norm halved.
    /// Copied entries `s = 1/2`, final norm `s = 1`, off-diagonal zeros fresh.
    case staged
    /// G_zero widthwise (Gesmundo & Maile 2023): new units, heads and hidden dimensions
    /// get zero weights where they write into existing computation and small random
    /// weights where they read; new norm gains one, and RMSNorm gains scaled by
    /// `sqrt(d / d')` and `norm_eps` by `d / d'` so every normalised old entry is unchanged. `s = 1` for old
    /// entries (`sqrt(d' / d)` for rescaled gains). Exact for RMSNorm; approximate under LayerNorm.
    case zero(Target)
    /// Net2Net / bert2BERT FPI: each new unit (MLP unit, query head, hidden dimension)
    /// copies a random source unit; the weights that read the copies are divided by
    /// the copy count. Output-side rows `s = 1/c`, input-side columns `s = 1`.
    /// Exact for MLP units and heads; approximate for hidden dimensions under a norm.
    case split(Target)
    /// G_random widthwise / MSG: the old weights in the top-left block, the rest random.
    /// Not function-preserving.
    case random(Target)

    public var name: String {
        switch self {
        case .duplicate: "duplicate"
        case .staged: "staged"
        case .zero: "zero"
        case .split: "split"
        case .random: "random"
        }
    }

    /// Whether the grown model computes exactly the source's function.
    public func isExact(source: ModelConfig, grown: ModelConfig) -> Bool {
        switch self {
        case .duplicate, .staged: true
        case .zero: grown.hiddenSize == source.hiddenSize || source.norm == .rmsnorm
        case .split: grown.hiddenSize == source.hiddenSize
        case .random: false
        }
    }

    /// The grown config, or why the sizes cannot work.
    public func grownConfig(_ source: ModelConfig) throws(GrowthError) -> ModelConfig {
        var grown = source
        switch self {
        case .duplicate(let n, _):
            guard n >= 2 else {
                throw .invalidArgument(operator: "duplicate", argument: "multiplier \(n)", problem: "must be an integer >= 2")
            }
            grown.hiddenSize *= n
            grown.intermediateSize *= n
            grown.numHeads *= n
            if source.numKVHeads > 1 { grown.numKVHeads *= n }
        case .staged:
            grown.hiddenSize *= 2
            grown.intermediateSize *= 2
            grown.numHeads *= 2
            if source.numKVHeads > 1 { grown.numKVHeads *= 2 }
        case .zero(let target), .split(let target), .random(let target):
            let n = target.factor ?? 1
            grown.hiddenSize = target.hidden ?? source.hiddenSize * n
            grown.intermediateSize = target.intermediate ?? source.intermediateSize * n
            grown.numHeads = target.heads ?? source.numHeads * n
            grown.numKVHeads = target.kvHeads ?? (source.numKVHeads > 1 ? source.numKVHeads * n : 1)
            let sizes = [("hidden", source.hiddenSize, grown.hiddenSize),
                         ("intermediate", source.intermediateSize, grown.intermediateSize),
                         ("heads", source.numHeads, grown.numHeads), ("kv_heads", source.numKVHeads, grown.numKVHeads)]
            for (argument, old, new) in sizes where new < old {
                throw .invalidArgument(operator: name, argument: "\(argument)=\(new)",
                                       problem: "is smaller than the source's \(old); growth only adds")
            }
            guard sizes.contains(where: { $0.1 != $0.2 }) else {
                throw .invalidArgument(operator: name, argument: "the target", problem: "equals the source's sizes; give hidden=, intermediate=, heads= or kv_heads= larger than the source's")
            }
            try checkHeads(source, grown)
            if case .zero = self, source.norm == .rmsnorm {
                // sqrt(mean(h'^2) + eps') with d' - d zero entries is sqrt(d/d') sqrt(mean(h^2) + eps)
                // only if eps' = eps d/d': with the gains scaled by sqrt(d/d') every old
                // output is then unchanged to the last bit of the formula, eps included.
                grown.normEps = source.normEps * Double(source.hiddenSize) / Double(grown.hiddenSize)
            }
        }
        if source.family == .gpt2 && grown.numHeads * grown.headDim != grown.hiddenSize {
            throw .impossible("\(name): gpt2 needs num_heads x head_dim = hidden_size, but \(grown.numHeads) x \(grown.headDim) != \(grown.hiddenSize); give heads=\(grown.hiddenSize / grown.headDim) with hidden=\(grown.hiddenSize) (head_dim stays \(grown.headDim)), or a hidden size that is a multiple of \(grown.headDim)")
        }
        do { try grown.validate() } catch { throw .impossible("\(name) gives an invalid config: \(error.problem)") }
        return grown
    }

    /// Grouped-query attention: query head `h` reads kv head `h / g` (`g = H / KV`), so old
    /// heads keep their kv head only if every old group keeps at least its `g` old heads.
    private func checkHeads(_ source: ModelConfig, _ grown: ModelConfig) throws(GrowthError) {
        let (h, kv) = (grown.numHeads, grown.numKVHeads)
        guard h % kv == 0 else {
            throw .impossible("\(name): heads=\(h) is not a multiple of kv_heads=\(kv); grouped-query attention needs that (try heads=\(((h + kv - 1) / kv) * kv))")
        }
        let oldGroup = source.numHeads / source.numKVHeads
        guard h / kv >= oldGroup else {
            throw .impossible("\(name): with heads=\(h) and kv_heads=\(kv) each kv head serves \(h / kv) query heads, fewer than the source's \(oldGroup), so old heads would change kv head; use heads=\(kv * oldGroup) or more (a multiple of \(kv))")
        }
        if case .split = self, kv != source.numKVHeads {
            throw .impossible("split copies query heads within their kv groups, so kv_heads must stay \(source.numKVHeads); add kv heads with zero or duplicate")
        }
    }

    /// Per role, where each grown index comes from (head roles per head, not per entry).
    func roleMaps(source: ModelConfig, grown: ModelConfig, seed: UInt64) -> [AxisRole: RoleMap] {
        var maps: [AxisRole: RoleMap] = [:]
        var rng = Xoshiro256StarStar(seed: seed ^ 0x5EED_0F_5B11)
        let tiled = { (old: Int, new: Int) in RoleMap.tiled(old, new) }
        switch self {
        case .duplicate, .staged:
            maps[.hidden] = tiled(source.hiddenSize, grown.hiddenSize)
            maps[.intermediate] = tiled(source.intermediateSize, grown.intermediateSize)
            maps[.queryHeads] = tiled(source.numHeads, grown.numHeads)
            maps[.keyValueHeads] = tiled(source.numKVHeads, grown.numKVHeads)
        case .zero, .random:
            maps[.hidden] = .extended(source.hiddenSize, grown.hiddenSize)
            maps[.intermediate] = .extended(source.intermediateSize, grown.intermediateSize)
            maps[.keyValueHeads] = .extended(source.numKVHeads, grown.numKVHeads)
            maps[.queryHeads] = .groupedHeads(source: source, grown: grown, newHead: { _ in -1 })
        case .split:
            maps[.hidden] = .split(source.hiddenSize, grown.hiddenSize, rng: &rng)
            maps[.intermediate] = .split(source.intermediateSize, grown.intermediateSize, rng: &rng)
            maps[.keyValueHeads] = .extended(source.numKVHeads, grown.numKVHeads)
            let g = source.numHeads / source.numKVHeads
            maps[.queryHeads] = .groupedHeads(source: source, grown: grown) { group in
                Int32(group * g + rng.nextInt(below: g))
            }
        }
        return maps
    }
}

/// Where the grown indices of one role come from: `sources[i']` (or -1), and
/// `replicas[i']`, which copy of the source space `i'` sits in.
struct RoleMap: Sendable, Hashable {
    var sources: [Int32]
    var replicas: [Int32]

    /// How many grown indices share each grown index's source (1 for new ones).
    var copyCounts: [Int32] {
        var counts: [Int32: Int32] = [:]
        for source in sources where source >= 0 { counts[source, default: 0] += 1 }
        return sources.map { $0 >= 0 ? counts[$0]! : 1 }
    }

    /// `i' -> i' mod old`, in `new / old` stacked copies.
    static func tiled(_ old: Int, _ new: Int) -> RoleMap {
        RoleMap(sources: (0..<new).map { Int32($0 % old) }, replicas: (0..<new).map { Int32($0 / old) })
    }

    /// The old indices first, then new ones without a source.
    static func extended(_ old: Int, _ new: Int) -> RoleMap {
        RoleMap(sources: (0..<new).map { $0 < old ? Int32($0) : -1 }, replicas: Array(repeating: 0, count: new))
    }

    /// The old indices first, then copies of random old indices (Net2Net).
    static func split(_ old: Int, _ new: Int, rng: inout Xoshiro256StarStar) -> RoleMap {
        RoleMap(sources: (0..<new).map { $0 < old ? Int32($0) : Int32(rng.nextInt(below: old)) },
                replicas: Array(repeating: 0, count: new))
    }

    /// Query heads by kv group: grown head `h'` sits in group `h' / g'` at slot `h' mod g'`;
    /// an old group's first `g` slots hold its old heads in order (so every old head keeps
    /// its kv head), and every other slot gets `newHead(group)` (-1 for none).
    static func groupedHeads(source: ModelConfig, grown: ModelConfig, newHead: (Int) -> Int32) -> RoleMap {
        let g = source.numHeads / source.numKVHeads
        let grownGroup = grown.numHeads / grown.numKVHeads
        let sources: [Int32] = (0..<grown.numHeads).map { head in
            let (group, slot) = (head / grownGroup, head % grownGroup)
            if group < source.numKVHeads && slot < g { return Int32(group * g + slot) }
            return group < source.numKVHeads ? newHead(group) : -1
        }
        return RoleMap(sources: sources, replicas: Array(repeating: 0, count: grown.numHeads))
    }
}
