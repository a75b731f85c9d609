/// Where a block of the grown model comes from.
public enum LayerOrigin: Sendable, Hashable {
    /// A copy of source block `i`: values, and with `--optimizer carry` moments (`s = 1`).
    case copy(Int)
    /// A new block that is exactly the identity: its residual-output projections
    /// (`o_proj`, `down_proj`, weight and bias) are zero; every other tensor is a
    /// copy of source block `i`, or random (`nil`). Its moments start fresh: at
    /// growth the copied tensors' gradients are zero, not a multiple of their source's.
    case identity(copyOf: Int?)
    /// A new block, randomly initialised at the scale of source block `reference`.
    case random(reference: Int)

    /// The source block whose tensors this one is made from, if any.
    var sourceLayer: Int? {
        switch self {
        case .copy(let layer): layer
        case .identity(let layer): layer
        case .random: nil
        }
    }
}

/// A depth operator: `L -> L'` blocks as a layer map plus a rule for new blocks (DESIGN section 5).
public enum DepthOperator: Sendable, Hashable {
    /// How many blocks to add: a factor on the source's depth, or a final depth.
    public enum Target: Sendable, Hashable {
        case factor(Int)
        case layers(Int)

        func newBlocks(source: Int) -> Int {
            switch self {
            case .factor(let g): source * (g - 1)
            case .layers(let total): total - source
            }
        }
    }

    /// Where an identity block's copied tensors come from.
    public enum IdentitySource: String, Sendable, Hashable, CaseIterable {
        /// The block below (LLaMA Pro).
        case previous
        /// The block above (LEMON, bert2BERT's AKI); a block added on top copies the one below.
        case next
        /// Random, at the scale of the block below.
        case random
    }

    /// Where new blocks go.
    public enum Placement: String, Sendable, Hashable, CaseIterable {
        /// Evenly among the source blocks: block `b` is followed by
        /// `floor((b + 1) m / L) - floor(b m / L)` of the `m` new ones (LLaMA Pro's groups).
        case spread
        /// All on top.
        case append
    }

    /// G_stack (Du et al. 2024): grown block `i'` copies block `i' mod L` (`g` copies of
    /// the whole stack), or the explicit source blocks `layers`. Not function-preserving.
    case stack(Target)
    /// Explicit slices, e.g. `0-5,0-5`: the grown blocks copy these source blocks in order.
    case slices([ClosedRange<Int>])
    /// `[L0 x g, L1 x g, ...]`: each block repeated in place. Not function-preserving.
    case interleave(Int)
    /// LLaMA Pro's block expansion, the depth operator staged training intended and
    /// G_zero depthwise: new blocks are exactly the identity. Function-preserving.
    case identity(Target, source: IdentitySource, placement: Placement)
    /// G_random depthwise: new blocks randomly initialised. Not function-preserving.
    case random(Target, placement: Placement)

    /// Whether the grown model computes exactly the source's function.
    public var isExact: Bool {
        if case .identity = self { return true }
        return false
    }

    /// The operator's name as the CLI spells it.
    public var name: String {
        switch self {
        case .stack, .slices: "stack"
        case .interleave: "interleave"
        case .identity: "identity"
        case .random: "random"
        }
    }

    /// Where each of the grown model's blocks comes from, for a source of `sourceLayers` blocks.
    public func layerOrigins(sourceLayers L: Int) throws(GrowthError) -> [LayerOrigin] {
        switch self {
        case .stack(let target):
            let total = L + target.newBlocks(source: L)
            guard total > L else { throw Self.notDeeper(name, L, total) }
            return (0..<total).map { .copy($0 % L) }
        case .slices(let ranges):
            var origins: [LayerOrigin] = []
            for range in ranges {
                guard range.lowerBound >= 0, range.upperBound < L else {
                    throw .invalidArgument(operator: "stack", argument: "slice \(range.lowerBound)-\(range.upperBound)",
                                           problem: "is outside the source's layers 0-\(L - 1)")
                }
                origins += range.map { .copy($0) }
            }
            guard origins.count > L else { throw Self.notDeeper(name, L, origins.count) }
            return origins
        case .interleave(let g):
            return (0..<L).flatMap { layer in Array(repeating: LayerOrigin.copy(layer), count: g) }
        case .identity(let target, let source, let placement):
            let added = target.newBlocks(source: L)
            guard added > 0 else { throw Self.notDeeper(name, L, L + added) }
            return Self.insert(added, into: L, placement: placement) { below in
                switch source {
                case .previous: .identity(copyOf: below)
                case .next: .identity(copyOf: min(below + 1, L - 1))
                case .random: .identity(copyOf: nil)
                }
            }
        case .random(let target, let placement):
            let added = target.newBlocks(source: L)
            guard added > 0 else { throw Self.notDeeper(name, L, L + added) }
            return Self.insert(added, into: L, placement: placement) { below in .random(reference: below) }
        }
    }

    /// The source blocks in order with `m` new blocks placed among them; `newBlock(b)` makes
    /// the new block that follows source block `b`.
    static func insert(_ m: Int, into L: Int, placement: Placement, newBlock: (Int) -> LayerOrigin) -> [LayerOrigin] {
        var origins: [LayerOrigin] = []
        for block in 0..<L {
            origins.append(.copy(block))
            let after = switch placement {
            case .spread: (block + 1) * m / L - block * m / L
            case .append: block == L - 1 ? m : 0
            }
            origins += (0..<after).map { _ in newBlock(block) }
        }
        return origins
    }

    static func notDeeper(_ name: String, _ source: Int, _ grown: Int) -> GrowthError {
        .impossible("depth \(name) would give \(grown) layers from \(source); a depth operator must add layers (factor >= 2 or layers > \(source))")
    }
}
