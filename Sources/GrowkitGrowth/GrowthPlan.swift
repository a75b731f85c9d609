import GrowkitState

/// A depth and/or width growth of one model, as one recipe per grown tensor.
///
/// Depth acts first (which source block each grown block comes from, and the
/// rule for new blocks), then width maps every axis by its role, so one
/// streaming pass applies both: every grown tensor is read from at most one
/// source tensor (plus, for random fills, one reference tensor for the scale).
public struct GrowthPlan: Sendable {
    public let source: ModelConfig
    public let grown: ModelConfig
    public let depth: DepthOperator?
    public let width: WidthOperator?
    /// Per grown block, where it comes from (the identity map without a depth operator).
    public let layerOrigins: [LayerOrigin]
    /// One per grown parameter, in canonical order.
    public let recipes: [TensorRecipe]

    /// Whether every operator claims to preserve the model's function exactly.
    public var isExact: Bool {
        (depth?.isExact ?? true) && (width?.isExact(source: source, grown: grown) ?? true)
    }

    /// Plans the growth of a `source` model. `seed` drives every random choice
    /// (split sources, random fills, noise): the same seed gives the same tensors.
    public init(source: ModelConfig, depth: DepthOperator?, width: WidthOperator?, seed: UInt64) throws(GrowthError) {
        guard depth != nil || width != nil else {
            throw .impossible("give a depth operator, a width operator or both")
        }
        self.source = source
        self.depth = depth
        self.width = width
        var grown = try width?.grownConfig(source) ?? source
        let origins = try depth?.layerOrigins(sourceLayers: source.numLayers) ?? (0..<source.numLayers).map { .copy($0) }
        layerOrigins = origins
        grown.numLayers = origins.count
        do { try grown.validate() } catch { throw .impossible("the grown model would be invalid: \(error.problem)") }
        self.grown = grown

        let roleMaps = width?.roleMaps(source: source, grown: grown, seed: seed) ?? [:]
        let sourceNames = Dictionary(uniqueKeysWithValues: source.parameters().map {
            (ParameterKey(layer: $0.layer, module: $0.module, kind: $0.kind), $0.name)
        })
        var recipes: [TensorRecipe] = []
        for (index, spec) in grown.parameters().enumerated() {
            let tensorSeed = Self.mix(seed, UInt64(index))
            recipes.append(Self.recipe(for: spec, source: source, grown: grown, width: width, roleMaps: roleMaps,
                                       origin: spec.layer.map { origins[$0] }, sourceNames: sourceNames, seed: tensorSeed))
        }
        self.recipes = recipes
    }

    /// The recipe of one grown tensor: depth picks the source tensor, width maps its axes.
    private static func recipe(
        for spec: ParameterSpec, source: ModelConfig, grown: ModelConfig, width: WidthOperator?,
        roleMaps: [AxisRole: RoleMap], origin: LayerOrigin?, sourceNames: [ParameterKey: String], seed: UInt64
    ) -> TensorRecipe {
        func sourceName(layer: Int?) -> String? {
            sourceNames[ParameterKey(layer: layer, module: spec.module, kind: spec.kind)]
        }
        // Depth: which source tensor, and whether this tensor is new.
        var sourceTensor: String? = sourceName(layer: spec.layer)
        var freshMoments = false
        var reference = sourceTensor
        switch origin {
        case .identity(let copyOf)?:
            if spec.module.writesResidualStream {
                return TensorRecipe(spec: spec, source: nil, axes: [], fill: .zero, seed: seed)
            }
            sourceTensor = copyOf.flatMap { sourceName(layer: $0) }
            reference = sourceName(layer: copyOf ?? (spec.layer! > 0 ? spec.layer! - 1 : 0))
            freshMoments = true
        case .random(let below)?:
            sourceTensor = nil
            reference = sourceName(layer: below)
        case .copy(let layer)?:
            sourceTensor = sourceName(layer: layer)
            reference = sourceTensor
        case nil:
            break
        }
        guard let sourceTensor else {
            // A new block's tensor: norm gains one, biases zero, weights random.
            let fill: Fill = spec.kind == .normWeight ? .one : (spec.kind == .normBias || spec.kind == .projectionBias) ? .zero : .random
            return TensorRecipe(spec: spec, source: nil, axes: [], fill: fill, randomReference: reference, seed: seed)
        }
        var recipe = TensorRecipe(spec: spec, source: sourceTensor, axes: spec.roles.map { AxisMap.identity(source.size(of: $0)) },
                                  randomReference: reference, freshMoments: freshMoments, seed: seed)
        guard let width else { return recipe }
        width.shape(&recipe, source: source, grown: grown, roleMaps: roleMaps)
        return recipe
    }

    /// SplitMix64 of `seed` and `index`: independent streams per tensor.
    static func mix(_ seed: UInt64, _ index: UInt64) -> UInt64 {
        var z = seed &+ (index &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A parameter by what it is, not by name: the key that finds a grown tensor's source.
struct ParameterKey: Hashable {
    var layer: Int?
    var module: ParameterModule
    var kind: ParameterKind
}

extension WidthOperator {
    /// Sets the axis maps, scales and fill of `recipe` (whose axes are still the source's identity maps).
    ///
    /// An axis is an input axis when it is the second axis of a projection weight or
    /// of the head (`[out, in]`); every other axis is an output axis. For the
    /// operators that divide (duplicate, split) an index with `c` copies gets value
    /// `1/c` on an input axis and gradient `1/c` on an output axis: the copies of a
    /// unit all carry the same activation, the consumers read them at `1/c`, and so
    /// each copy's output receives `1/c` of the source unit's gradient.
    func shape(_ recipe: inout TensorRecipe, source: ModelConfig, grown: ModelConfig, roleMaps: [AxisRole: RoleMap]) {
        let spec = recipe.spec
        let divides: Bool
        switch self {
        case .duplicate, .split: divides = true
        case .staged, .zero, .random: divides = false
        }
        recipe.axes = spec.roles.enumerated().map { axis, role in
            guard let map = roleMaps[role] else { return AxisMap.identity(grown.size(of: role)) }
            let counts = map.copyCounts.map { 1 / Float($0) }
            let isInput = axis == 1 && (spec.kind == .projectionWeight || spec.kind == .head)
            let ones = [Float](repeating: 1, count: map.sources.count)
            var axisMap = AxisMap(
                sources: map.sources,
                valueScales: divides && isInput ? counts : ones,
                gradientScales: isInput ? ones : (divides || self == .staged ? counts : ones),
                replicas: map.replicas)
            if role == .queryHeads || role == .keyValueHeads { axisMap = axisMap.expanded(by: source.headDim) }
            return axisMap
        }
        let hiddenGrows = grown.hiddenSize != source.hiddenSize
        switch self {
        case .duplicate(let n, let snr):
            if spec.module == .finalNorm && source.tieEmbeddings {
                // The tied head cannot be divided by n (it is the embedding), so the final norm is.
                recipe.valueScale = 1 / Float(n)
                recipe.gradientScale = Float(n)
            }
            if let snr, spec.kind == .projectionWeight || spec.kind == .head { recipe.noiseSNR = snr }
        case .staged:
            recipe.blockDiagonal = spec.kind == .projectionWeight
            if spec.module == .finalNorm {
                recipe.valueScale = 0.5
                recipe.gradientScale = 2
            }
            // The head reads the halved final norm: its gradient halves too.
            if spec.kind == .head { recipe.gradientScale = 0.5 }
        case .zero:
            if spec.kind == .normWeight && hiddenGrows && source.norm == .rmsnorm {
                // RMS over d' entries of which d' - d are zero is sqrt(d / d') of the old one.
                let r = Float((Double(source.hiddenSize) / Double(grown.hiddenSize)).squareRoot())
                recipe.valueScale = r
                recipe.gradientScale = 1 / r
            }
            recipe.fill = switch spec.kind {
            case .normWeight: .one
            case .projectionWeight, .head: spec.module.writesResidualStream ? .zero : .random
            case .tokenEmbedding, .positionEmbedding, .normBias, .projectionBias: .zero
            }
        case .random:
            recipe.fill = switch spec.kind {
            case .normWeight: .one
            case .normBias, .projectionBias: .zero
            case .tokenEmbedding, .positionEmbedding, .projectionWeight, .head: .random
            }
        case .split:
            break
        }
    }
}
