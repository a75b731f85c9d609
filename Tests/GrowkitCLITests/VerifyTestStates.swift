import Foundation
import GrowkitCheckpoint
import GrowkitState

/// States for the verify and diff tests, built by hand from the fixtures (no growth operator).
enum VerifyTestStates {
    static func fixture(_ family: ModelConfig.Family) -> String {
        fixturesFolder.appendingPathComponent(family == .gpt2 ? "tiny-gpt2.h5" : "tiny-llama.h5").path
    }

    static func load(_ family: ModelConfig.Family) throws -> TrainingState {
        try CheckpointReader(path: fixture(family)).readAll()
    }

    /// Writes `state` as `name` in `folder` and returns its path.
    static func write(_ state: TrainingState, _ name: String, in folder: URL) throws -> String {
        let path = folder.appendingPathComponent(name).path
        try CheckpointWriter.write(state, to: path)
        return path
    }

    /// `state` with a `grow` provenance record carrying `growth` appended.
    static func recording(_ state: TrainingState, _ growth: GrowthRecord) -> TrainingState {
        var state = state
        state.provenance.append(ProvenanceRecord(operatorName: "grow", source: "small.h5", toolVersion: "test", growth: growth,
                                                 time: "2026-01-01T00:00:00Z"))
        return state
    }

    /// A growth record that changes no size, claiming exactness or not.
    static func copyRecord(exact: Bool) -> GrowthRecord {
        GrowthRecord(exact: exact, operators: [exact ? "copy" : "copy:noise"], sizes: [:], layerSources: [], newTensors: [],
                     partlyNewTensors: [], copiedTensors: [])
    }

    /// One block appended on top by hand (LLaMA Pro's identity block expansion): layer `L` is a copy
    /// of layer `L - 1` except that `o_proj` and `down_proj` (weights and biases) are zero; fresh
    /// moments; config `num_layers + 1`; a growth record claiming exactness.
    static func appendingIdentityLayer(_ state: TrainingState) -> TrainingState {
        let L = state.config.numLayers
        var grown = state
        grown.config.numLayers = L + 1
        var newTensors: [String] = []
        for spec in grown.config.parameters() where spec.layer == L {
            let below = spec.name.replacingOccurrences(of: "model.layers.\(L).", with: "model.layers.\(L - 1).")
            grown.parameters[spec.name] = spec.module.writesResidualStream ? Tensor(zeros: spec.shape) : state.parameters[below]!
            grown.optimizerState[spec.name] = AdamParameterState(freshFor: spec.shape, applyWeightDecay: spec.defaultWeightDecay)
            newTensors.append(spec.name)
        }
        let growth = GrowthRecord(exact: true, operators: ["depth=identity:placement=append"], sizes: ["num_layers": [L, L + 1]],
                                  layerSources: (0..<L).map { Optional($0) } + [nil], newTensors: newTensors,
                                  partlyNewTensors: [], copiedTensors: state.orderedNames)
        return recording(grown, growth)
    }

    /// `state` with 1e-2 added to one entry of the head's row of token 17 (gpt2: the tied
    /// embedding; llama: lm_head): that token's logit moves by about 1e-2 times a normalised
    /// hidden entry, far beyond the 1e-4 tolerance.
    static func perturbingHead(_ state: TrainingState) -> TrainingState {
        var state = state
        let name = state.config.tieEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight"
        state.parameters[name]!.data[17 * state.config.hiddenSize + 3] += 1e-2
        return state
    }
}

/// The parsed `--json` output of a run.
func verifyJSON(_ run: GrowkitRun) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] else {
        throw CocoaError(.coderInvalidValue)
    }
    return object
}
