import GrowkitState

/// Hand-made growth for the tests, independent of GrowkitGrowth's operators.
enum GrownStates {
    /// `state` with one block appended on top (LLaMA Pro's identity block expansion done by hand):
    /// every tensor of the new layer `L` copied from layer `L - 1`, except the residual-output
    /// projections (`o_proj`, `down_proj`, weight and bias), which are zero, so the new block adds
    /// exactly 0 to the residual stream. Fresh moments (zero, step 0) for the new layer; a `grow`
    /// provenance record with a ``GrowthRecord`` claiming `exact`.
    static func appendingIdentityLayer(_ state: TrainingState, exact: Bool = true, zeroResidualOutputs: Bool = true) -> TrainingState {
        let L = state.config.numLayers
        var config = state.config
        config.numLayers = L + 1
        var parameters = state.parameters, moments = state.optimizerState
        var newTensors: [String] = []
        for spec in config.parameters() where spec.layer == L {
            let below = spec.name.replacingOccurrences(of: "model.layers.\(L).", with: "model.layers.\(L - 1).")
            parameters[spec.name] = zeroResidualOutputs && spec.module.writesResidualStream
                ? Tensor(zeros: spec.shape) : state.parameters[below]!
            moments[spec.name] = AdamParameterState(freshFor: spec.shape, applyWeightDecay: spec.defaultWeightDecay)
            newTensors.append(spec.name)
        }
        let growth = GrowthRecord(
            exact: exact, operators: ["depth=identity:placement=append"], sizes: ["num_layers": [L, L + 1]],
            layerSources: (0..<L).map { Optional($0) } + [nil], newTensors: newTensors, partlyNewTensors: [],
            copiedTensors: state.orderedNames)
        var metadata = state.metadata
        metadata.config = config
        metadata.provenance.append(grow(growth))
        return TrainingState(metadata: metadata, parameters: parameters, optimizerState: moments)
    }

    /// A `grow` provenance record carrying `growth`.
    static func grow(_ growth: GrowthRecord) -> ProvenanceRecord {
        ProvenanceRecord(operatorName: "grow", arguments: [:], source: "small.h5", sourceSHA256: nil, toolVersion: "test",
                         growth: growth, time: "2026-01-01T00:00:00Z")
    }

    /// A growth record that changes no size (a copy that claims, or disclaims, exactness).
    static func copyRecord(exact: Bool) -> GrowthRecord {
        GrowthRecord(exact: exact, operators: ["copy"], sizes: [:], layerSources: [], newTensors: [],
                     partlyNewTensors: [], copiedTensors: [])
    }

    /// `state` with `delta` added to element `index` of parameter `name`.
    static func perturbing(_ state: TrainingState, _ name: String, at index: Int, by delta: Float) -> TrainingState {
        var state = state
        state.parameters[name]!.data[index] += delta
        return state
    }
}
