import GrowkitGrowth
import GrowkitModel
import GrowkitState

/// Gradient consistency (DESIGN section 6; docs/VERIFY.md "Gradients"): the numerical check of
/// the rule every growth operator derives its moments from.
///
/// For every grown entry `e` with a source entry `src(e)` (every axis maps it to a source index,
/// for block-diagonal recipes the axes' replicas agree, and the tensor's moments are not fresh),
/// with `s_e = gradientScale * prod_axes gradientScales[i]` of its recipe:
///
///     g'_e          = s_e   g_src(e)             (backprop of both models on the same batches)
///     exp_avg'_e    = s_e   exp_avg_src(e)       (the stored moments of the grown state)
///     exp_avg_sq'_e = s_e^2 exp_avg_sq_src(e)
///     step'         = step_src                   (per tensor)
///
/// and every other entry has zero moments (a tensor with no carried entry: step 0). After
/// `grow --optimizer reset` every moment is 0 and every step 0; the gradients are checked all the same.
///
/// Pure: models, moments and batches in, a ``GradientConsistencyResult`` out. Moments come through
/// closures so that a caller can stream them from files one tensor at a time.
public enum GradientConsistency {
    /// At most this many mismatches are listed in a result (all are counted).
    public static let mismatchLimit = 10

    /// The plan of GROWN's last provenance record, replayed on SMALL's config
    /// (``GrowthPlan/init(replaying:source:)``), and the optimizer transfer the record names.
    ///
    /// - Throws: ``VerifyError/notDerived(grown:source:reason:)`` when the last record is not a growth
    ///   by `growkit grow`, its operators cannot be replayed on SMALL, or the replayed plan's grown
    ///   config is not GROWN's: then GROWN was not grown from a state shaped like SMALL.
    public static func replayedPlan(
        source: ModelConfig, grown: ModelConfig, provenance: [ProvenanceRecord], names: ModelNames = ModelNames()
    ) throws(VerifyError) -> (plan: GrowthPlan, optimizer: OptimizerTransfer, growth: GrowthRecord) {
        guard let last = provenance.last else {
            throw .notDerived(grown: names.grown, source: names.source, reason: "it has no provenance records")
        }
        guard last.operatorName == "grow", let growth = last.growth else {
            throw .notDerived(grown: names.grown, source: names.source,
                              reason: "its last provenance record is '\(last.operatorName)', not a growth by growkit grow")
        }
        let plan: GrowthPlan
        do { plan = try GrowthPlan(replaying: last, source: source) } catch {
            throw .notDerived(grown: names.grown, source: names.source,
                              reason: "its growth (\(growth.operators.joined(separator: " "))) cannot be replayed on it: \(error)")
        }
        guard plan.grown == grown else {
            let field = ConfigDifference.first(plan.grown, grown) ?? "the config"
            throw .notDerived(grown: names.grown, source: names.source,
                              reason: "replaying its growth (\(growth.operators.joined(separator: " "))) on it gives \(field)")
        }
        var optimizer = plan.defaultOptimizer
        if case .string(let name)? = last.arguments["optimizer"], let transfer = OptimizerTransfer(rawValue: name) {
            optimizer = transfer
        }
        return (plan, optimizer, growth)
    }

    /// Backprops both models on `batches` and checks every grown tensor of `plan`.
    ///
    /// - Parameters:
    ///   - optimizer: how `grow` transferred the moments (the record's `optimizer` argument).
    ///   - claimedExact: the growth record's `exact`; decides only the verdict.
    ///   - sourceMoments, grownMoments: a parameter's AdamW state by dotted name (read on demand).
    ///   - checkMoments: false when a side is weights-only: gradients only, the moment closures are never called.
    ///   - perTensor: one row per grown tensor instead of one per module kind.
    /// - Throws: ``VerifyError`` for incompatible models, bad batches, non-finite losses or
    ///   gradients, or whatever the moment closures throw. Mismatches are results, not errors.
    public static func check(
        plan: GrowthPlan, optimizer: OptimizerTransfer, claimedExact: Bool,
        source: ModelWeights, grown: ModelWeights,
        sourceMoments: (String) throws(VerifyError) -> AdamParameterState,
        grownMoments: (String) throws(VerifyError) -> AdamParameterState,
        checkMoments: Bool = true,
        batches: [VerificationBatch], tolerance: GradientTolerance = .float32, perTensor: Bool = false,
        names: ModelNames = ModelNames(), progress: (GradientConsistencyProgress) -> Void = { _ in }
    ) throws(VerifyError) -> GradientConsistencyResult {
        try tolerance.check()
        for batch in batches {
            try FunctionPreservation.checkCompatibility(source: source.config, grown: grown.config, seqLen: batch.seqLen,
                                                        names: names)
        }
        guard source.config == plan.source, grown.config == plan.grown else {
            throw .notDerived(grown: names.grown, source: names.source, reason: "the growth plan is for other configs")
        }
        progress(GradientConsistencyProgress(phase: "backprop \(names.source)", done: 0, total: plan.recipes.count))
        let sourceGradient = try ModelGradient(source, batches: batches, name: names.source)
        progress(GradientConsistencyProgress(phase: "backprop \(names.grown)", done: 0, total: plan.recipes.count))
        let grownGradient = try ModelGradient(grown, batches: batches, name: names.grown)
        // Per module group, the RMS of the grown gradient: the floor of each tensor's scale r_T.
        var groupSums: [String: (sum: Double, count: Int)] = [:]
        for (spec, offset) in zip(grown.layout.specs, grown.layout.offsets) {
            var sum = 0.0
            for k in offset..<(offset + spec.elementCount) { sum += Double(grownGradient.values[k]) * Double(grownGradient.values[k]) }
            groupSums[group(of: spec), default: (0, 0)].sum += sum
            groupSums[group(of: spec), default: (0, 0)].count += spec.elementCount
        }
        let groupRMS = groupSums.mapValues { $0.count > 0 ? ($0.sum / Double($0.count)).squareRoot() : 0 }

        var checker = TensorChecker(tolerance: tolerance, carry: optimizer == .carry, checkMoments: checkMoments)
        var rows: [GradientGroupRow] = []
        var rowIndex: [String: Int] = [:]
        var cachedSource: (name: String, state: AdamParameterState)? = nil
        for (done, recipe) in plan.recipes.enumerated() {
            let spec = recipe.spec
            progress(GradientConsistencyProgress(phase: "check \(spec.name)", done: done, total: plan.recipes.count))
            let grownOffset = grown.layout.offset(of: spec.name)!
            let grownState = checkMoments ? try grownMoments(spec.name) : AdamParameterState(freshFor: spec.shape, applyWeightDecay: false)
            var sourceInput: TensorChecker.Source? = nil
            if let name = recipe.source, let sourceSpec = source.layout.index(of: name).map({ source.layout.specs[$0] }) {
                if cachedSource?.name != name {
                    cachedSource = (name, checkMoments ? try sourceMoments(name)
                                        : AdamParameterState(freshFor: sourceSpec.shape, applyWeightDecay: false))
                }
                sourceInput = .init(name: name, shape: sourceSpec.shape,
                                    gradient: sourceGradient.values, offset: source.layout.offset(of: name)!,
                                    state: cachedSource!.state)
            }
            let row = checker.check(recipe: recipe, optimizer: optimizer, grownGradient: grownGradient.values,
                                    grownOffset: grownOffset, grownState: grownState, source: sourceInput,
                                    floor: groupRMS[group(of: spec)] ?? 0)
            let key = perTensor ? spec.name : group(of: spec)
            if let index = rowIndex[key] {
                rows[index].add(row)
            } else {
                rowIndex[key] = rows.count
                var named = GradientGroupRow(group: key)
                named.add(row)
                rows.append(named)
            }
        }
        if !perTensor { rows.sort { groupOrder.firstIndex(of: $0.group)! < groupOrder.firstIndex(of: $1.group)! } }
        var result = GradientConsistencyResult(
            claimedExact: claimedExact, symmetryBreakingNoise: plan.recipes.contains { $0.noiseSNR != nil },
            optimizer: optimizer.rawValue, tolerance: tolerance, batches: batches.count,
            tokens: batches.reduce(0) { $0 + $1.tokenCount }, sourceLoss: sourceGradient.loss, grownLoss: grownGradient.loss,
            rows: rows, mismatches: checker.mismatches)
        result.momentsChecked = checkMoments
        return result
    }

    /// ``check(plan:optimizer:claimedExact:source:grown:sourceMoments:grownMoments:batches:tolerance:perTensor:names:)``
    /// for two states in memory: the plan replayed from GROWN's last provenance record.
    public static func check(
        source: TrainingState, grown: TrainingState, batches: [VerificationBatch], tolerance: GradientTolerance = .float32,
        perTensor: Bool = false, names: ModelNames = ModelNames()
    ) throws(VerifyError) -> GradientConsistencyResult {
        for batch in batches {
            try FunctionPreservation.checkCompatibility(source: source.config, grown: grown.config, seqLen: batch.seqLen,
                                                        names: names)
        }
        let (plan, optimizer, growth) = try replayedPlan(source: source.config, grown: grown.config,
                                                         provenance: grown.provenance, names: names)
        let sourceWeights = try FunctionPreservation.weights(source.config, source.parameters, names.source)
        let grownWeights = try FunctionPreservation.weights(grown.config, grown.parameters, names.grown)
        func moments(_ state: TrainingState, _ model: String) -> (String) throws(VerifyError) -> AdamParameterState {
            { name throws(VerifyError) in
                guard let moments = state.optimizerState[name] else {
                    throw .model(model: model, message: "no AdamW state for \(name)")
                }
                return moments
            }
        }
        return try check(plan: plan, optimizer: optimizer, claimedExact: growth.exact, source: sourceWeights,
                         grown: grownWeights, sourceMoments: moments(source, names.source),
                         grownMoments: moments(grown, names.grown), batches: batches, tolerance: tolerance,
                         perTensor: perTensor, names: names)
    }

    /// The module-kind groups of the report, in order.
    public static let groupOrder = ["embeddings", "attention q/k/v", "o_proj", "mlp", "norms", "head"]

    /// The group of a parameter: embeddings, attention q/k/v, o_proj, mlp (gate, up, down), norms, head.
    public static func group(of spec: ParameterSpec) -> String {
        switch spec.module {
        case .tokenEmbedding, .positionEmbedding: "embeddings"
        case .query, .key, .value: "attention q/k/v"
        case .attentionOutput: "o_proj"
        case .gate, .up, .down: "mlp"
        case .inputNorm, .postAttentionNorm, .finalNorm: "norms"
        case .head: "head"
        }
    }
}

/// Reported before each phase (the two backward passes, then each grown tensor), for the CLI to render.
public struct GradientConsistencyProgress: Sendable {
    /// `backprop <model>` or `check <tensor>`.
    public var phase: String
    /// Tensors checked so far, of `total`.
    public var done: Int
    public var total: Int
}

/// The first config field in which two configs differ, as a phrase.
enum ConfigDifference {
    static func first(_ expected: ModelConfig, _ actual: ModelConfig) -> String? {
        for ((name, a), (_, b)) in zip(StateDiff.configFields(expected), StateDiff.configFields(actual)) where a != b {
            return "\(name) \(a), not \(b) as in the grown state"
        }
        return nil
    }
}
