import GrowkitGrowth
import GrowkitState
import Testing

/// Moment and step rules entry by entry, on tensors small enough to work out by hand.
///
/// Every source tensor holds `value[k] = k + 1`, `exp_avg[k] = 10 (k + 1)` and
/// `exp_avg_sq[k] = 100 (k + 1)` (row-major index `k`), and every step is 7, so an
/// entry's expected numbers follow from its source index and the operator's `s`.
@Suite struct MomentRuleTests {
    static func state(_ config: ModelConfig) -> TrainingState {
        var parameters: [String: Tensor] = [:], moments: [String: AdamParameterState] = [:]
        for spec in config.parameters() {
            let n = spec.elementCount
            parameters[spec.name] = Tensor(shape: spec.shape, data: (0..<n).map { Float($0 + 1) })
            moments[spec.name] = AdamParameterState(
                expAvg: Tensor(shape: spec.shape, data: (0..<n).map { 10 * Float($0 + 1) }),
                expAvgSq: Tensor(shape: spec.shape, data: (0..<n).map { 100 * Float($0 + 1) }),
                step: 7, applyWeightDecay: spec.defaultWeightDecay)
        }
        let metadata = CheckpointMetadata(
            config: config, optimizer: AdamWHyperparameters(),
            schedule: Schedule(kind: .cosine, peakLR: 1e-3, minLR: 1e-4, warmupSteps: 10, totalSteps: 1000),
            trainer: TrainerPosition(step: 100, tokensSeen: 51_200, batchSize: 2, seqLen: 256, seed: 1,
                                     dataCursor: 51_200, rngState: Array(repeating: 1, count: 32), generator: "xoshiro256**"))
        return TrainingState(metadata: metadata, parameters: parameters, optimizerState: moments)
    }

    /// Llama, hidden 4, 2 query heads of head_dim 2 sharing one kv head (MQA), intermediate 6, vocab 8.
    static let llama = ModelConfig.llama(vocabSize: 8, hiddenSize: 4, numLayers: 1, numHeads: 2, numKVHeads: 1,
                                         intermediateSize: 6, maxPosition: 16, headDim: 2)

    func entry(_ state: TrainingState, _ name: String, _ row: Int, _ column: Int = 0)
        -> (value: Float, expAvg: Float, expAvgSq: Float, step: Int)
    {
        let tensor = state.parameters[name]!, moments = state.optimizerState[name]!
        let k = tensor.shape.count == 2 ? row * tensor.shape[1] + column : row
        return (tensor.data[k], moments.expAvg.data[k], moments.expAvgSq.data[k], moments.step)
    }

    @Test func duplicateDividesInputsAndScalesMomentsByOneOverN() throws {
        let grown = try grow(Self.state(Self.llama), width: "duplicate:2")
        // q_proj [4, 4] -> [8, 8]; (5, 6) copies (1, 2): k = 6, value 7 / 2; s = 1/2.
        let q = entry(grown, "model.layers.0.self_attn.q_proj.weight", 5, 6)
        #expect(q == (3.5, 35, 175, 7))
        // k_proj [2, 4] -> [2, 8]: one kv head stays one, so its output is not duplicated: s = 1.
        // (1, 5) copies (1, 1): k = 5, value 6 / 2.
        let k = entry(grown, "model.layers.0.self_attn.k_proj.weight", 1, 5)
        #expect(k == (3, 60, 600, 7))
        // Untied head [8, 4] -> [8, 8]: divided by 2, s = 1. (3, 6) copies (3, 2): k = 14.
        #expect(entry(grown, "lm_head.weight", 3, 6) == (7.5, 150, 1500, 7))
        // Final norm of an untied model: tiled, s = 1/2. Entry 5 copies entry 1.
        #expect(entry(grown, "model.norm.weight", 5) == (2, 10, 50, 7))
        // Embedding [8, 4] -> [8, 8]: hidden is its output, tiled without division, s = 1/2.
        #expect(entry(grown, "model.embed_tokens.weight", 2, 7) == (12, 60, 300, 7))
    }

    @Test func duplicateOfATiedModelDividesTheFinalNorm() throws {
        var config = Self.llama
        config.tieEmbeddings = true
        let grown = try grow(Self.state(config), width: "duplicate:4")
        // Final norm: value / 4, s = 1 (DESIGN section 5). Entry 6 copies entry 2 (value 3).
        #expect(entry(grown, "model.norm.weight", 6) == (0.75, 30, 300, 7))
        #expect(grown.parameters["lm_head.weight"] == nil)
    }

    @Test func stagedIsBlockDiagonalWithHalvedMoments() throws {
        let grown = try grow(Self.state(Self.llama), width: "staged")
        let name = "model.layers.0.mlp.up_proj.weight"  // [6, 4] -> [12, 8]
        // Diagonal block: (7, 5) copies (1, 1): k = 5, value 6, s = 1/2.
        #expect(entry(grown, name, 7, 5) == (6, 30, 150, 7))
        // Off-diagonal: zero with zero moments; the tensor keeps its step (one per tensor in torch).
        #expect(entry(grown, name, 7, 1) == (0, 0, 0, 7))
        // Final norm halved, moments unscaled: entry 4 copies entry 0.
        #expect(entry(grown, "model.norm.weight", 4) == (0.5, 10, 100, 7))
        // Untied head reads the halved norm: [H | H], s = 1/2. (3, 6) copies (3, 2): k = 14.
        #expect(entry(grown, "lm_head.weight", 3, 6) == (15, 75, 375, 7))
        #expect(grown.provenance.last?.growth?.partlyNewTensors.contains(name) == true)
    }

    @Test func identityBlocksStartFreshAndOldBlocksKeepEverything() throws {
        let source = Self.state(Self.llama)
        let grown = try grow(source, depth: "identity:2")
        #expect(grown.config.numLayers == 2)
        for spec in Self.llama.parameters() where spec.layer == 0 {
            #expect(grown.parameters[spec.name] == source.parameters[spec.name])
            #expect(grown.optimizerState[spec.name] == source.optimizerState[spec.name])
        }
        // The new block 1: o_proj and down_proj zero; the rest copies block 0's values; all moments fresh.
        let o = "model.layers.1.self_attn.o_proj.weight", q = "model.layers.1.self_attn.q_proj.weight"
        #expect(grown.parameters[o]!.data.allSatisfy { $0 == 0 })
        #expect(grown.parameters["model.layers.1.mlp.down_proj.weight"]!.data.allSatisfy { $0 == 0 })
        #expect(grown.parameters[q] == source.parameters["model.layers.0.self_attn.q_proj.weight"])
        for name in [o, q] {
            let moments = grown.optimizerState[name]!
            #expect(moments.step == 0 && moments.expAvg.data.allSatisfy { $0 == 0 } && moments.expAvgSq.data.allSatisfy { $0 == 0 })
        }
        #expect(grown.provenance.last?.growth?.layerSources == [0, nil])
        #expect(grown.provenance.last?.growth?.newTensors.contains(q) == true)
    }

    @Test func zeroRescalesRMSNormGainsAndLeavesNewEntriesFresh() throws {
        let grown = try grow(Self.state(Self.llama), width: "zero:hidden=6,intermediate=8")
        // Gain: value * sqrt(4/6), s = sqrt(6/4): exp_avg * 1.2247, exp_avg_sq * 1.5. Entry 1: 2, 20, 200.
        let gain = entry(grown, "model.norm.weight", 1)
        #expect(abs(gain.value - 2 * (4.0 / 6.0).squareRoot()) < 1e-6)
        #expect(abs(gain.expAvg - 20 * (6.0 / 4.0).squareRoot()) < 1e-5)
        #expect(abs(gain.expAvgSq - 300) < 1e-4)
        #expect(entry(grown, "model.norm.weight", 5) == (1, 0, 0, 7))
        // down_proj [4, 6] -> [6, 8]: a new hidden row and a new unit's column write zeros.
        #expect(entry(grown, "model.layers.0.mlp.down_proj.weight", 5, 2) == (0, 0, 0, 7))
        #expect(entry(grown, "model.layers.0.mlp.down_proj.weight", 1, 7) == (0, 0, 0, 7))
        // Old entries are copied with s = 1: (1, 2) is k = 8.
        #expect(entry(grown, "model.layers.0.mlp.down_proj.weight", 1, 2) == (9, 90, 900, 7))
        // A new unit reads at random (nonzero), with zero moments.
        let up = entry(grown, "model.layers.0.mlp.up_proj.weight", 7, 1)
        #expect(up.value != 0 && up.expAvg == 0)
        #expect(abs(grown.config.normEps - 1e-5 * 4 / 6) < 1e-12)
    }

    /// Net2Net: a unit with `c` copies has its input rows copied with `s = 1/c` and its
    /// output column divided by `c` with `s = 1`.
    @Test func splitDividesOutgoingWeightsByCopyCount() throws {
        let source = Self.state(Self.llama)
        let plan = try GrowthPlan(source: Self.llama, depth: nil, width: OperatorSyntax.width("split:intermediate=8"), seed: 3)
        let grown = try grow(source, width: "split:intermediate=8", seed: 3)
        let unitSources = plan.recipes.first { $0.spec.name == "model.layers.0.mlp.up_proj.weight" }!.axes[0].sources
        #expect(Array(unitSources.prefix(6)) == [0, 1, 2, 3, 4, 5])
        for unit in 6..<8 {
            let s = Int(unitSources[unit])
            let c = Float(unitSources.filter { Int($0) == s }.count)
            // up_proj row `unit` copies row s; column 0 of row s is k = 4 s.
            let up = entry(grown, "model.layers.0.mlp.up_proj.weight", unit, 0)
            #expect(up == (Float(4 * s + 1), 10 * Float(4 * s + 1) / c, 100 * Float(4 * s + 1) / (c * c), 7))
            // down_proj [4, 6] -> [4, 8]: (2, unit) from (2, s), k = 12 + s, divided by c, s = 1.
            let down = entry(grown, "model.layers.0.mlp.down_proj.weight", 2, unit)
            #expect(down == (Float(13 + s) / c, 10 * Float(13 + s), 100 * Float(13 + s), 7))
        }
    }

    @Test func resetZeroesEveryMomentAndStep() throws {
        let grown = try grow(Self.state(Self.llama), depth: "stack:2", optimizer: .reset)
        for (_, moments) in grown.optimizerState {
            #expect(moments.step == 0 && moments.expAvg.data.allSatisfy { $0 == 0 })
        }
        // Layer 1 of stack:2 is a copy of layer 0.
        #expect(grown.parameters["model.layers.1.mlp.up_proj.weight"] == grown.parameters["model.layers.0.mlp.up_proj.weight"])
    }

    @Test func scheduleTransformsKeepTokensAndCursor() throws {
        let source = Self.state(Self.llama)
        let rewarm = try grow(source, depth: "identity:2", schedule: .rewarm(step: nil, steps: 150))
        // Depth: R = round(100 / 1.412) = 71.
        #expect(rewarm.trainer.step == 71 && rewarm.schedule.rewarmStart == 71 && rewarm.schedule.rewarmSteps == 150)
        #expect(rewarm.schedule.learningRate(atStep: 71) < 1e-5)
        let both = try grow(source, depth: "identity:2", width: "duplicate:2", schedule: .rewarm(step: nil, steps: 20))
        #expect(both.trainer.step == 41)  // round(100 / 2.455)
        #expect(try grow(source, width: "duplicate:2", schedule: .restart).trainer.step == 0)
        #expect(try grow(source, width: "duplicate:2", schedule: .rewind).trainer.step == 10)
        for grown in [rewarm, both] {
            #expect(grown.trainer.tokensSeen == 51_200 && grown.trainer.dataCursor == 51_200)
        }
    }
}
