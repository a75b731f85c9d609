import GrowkitRandom

/// Deterministic random training states for fixtures and tests
/// (`growkit make-fixture`): plausible values, not a trained model.
///
/// Every tensor is generated from its own xoshiro256** stream, seeded with
/// `seed` mixed with the parameter's index in the canonical order, so a state
/// can be generated one parameter at a time (streaming) and any parameter
/// regenerated alone. Values: matrices `N(0, 0.02^2)` (GPT-2's init), norm
/// weights `1 + N(0, 0.1^2)`, biases `N(0, 0.02^2)`; `exp_avg = N(0, (1e-3)^2)`;
/// `exp_avg_sq = g^2 + 1e-8` with `g ~ N(0, (1e-3)^2)`, so strictly positive.
public enum RandomState {
    /// The tiny models of `fixtures/` (docs in fixtures/README.md).
    /// gpt2: vocab 256, hidden 32, 2 layers, 4 heads, 64 positions, LayerNorm,
    /// learned positions, GELU tanh, tied head. llama: vocab 256, hidden 32,
    /// 2 layers, 4 heads, 2 kv heads, intermediate 64, RMSNorm, RoPE, SwiGLU, untied head.
    public static func tinyConfig(_ family: ModelConfig.Family, hiddenSize: Int = 32, numLayers: Int = 2) -> ModelConfig {
        switch family {
        case .gpt2:
            return .gpt2(vocabSize: 256, hiddenSize: hiddenSize, numLayers: numLayers, numHeads: 4, maxPosition: 64)
        case .llama:
            return .llama(vocabSize: 256, hiddenSize: hiddenSize, numLayers: numLayers, numHeads: 4, numKVHeads: 2,
                          intermediateSize: 2 * hiddenSize, maxPosition: 64)
        }
    }

    /// Steps taken by a fixture's trainer (and by every parameter).
    public static let fixtureStep = 40

    /// The non-tensor part of a fixture: AdamW (0.9, 0.95, 1e-8, weight decay 0.1),
    /// a cosine schedule (peak 1e-3, min 1e-4, 10 warmup steps, 200 total),
    /// the trainer after 40 steps of batch 4 x 32 tokens, a history logged every
    /// 10 steps, and one provenance record with the given arguments and time.
    public static func fixtureMetadata(config: ModelConfig, seed: UInt64, arguments: [String: JSONValue],
                                       toolVersion: String, time: String) -> CheckpointMetadata {
        let schedule = Schedule(kind: .cosine, peakLR: 1e-3, minLR: 1e-4, warmupSteps: 10, totalSteps: 200)
        let step = fixtureStep, batchSize = 4, seqLen = 32
        var rng = Xoshiro256StarStar(seed: seed)
        // Advance the trainer's generator as if it had drawn one number per step.
        for _ in 0..<step { _ = rng.next() }
        let trainer = TrainerPosition(
            step: step, tokensSeen: step * batchSize * seqLen, batchSize: batchSize, seqLen: seqLen,
            seed: Int(truncatingIfNeeded: seed & UInt64(Int64.max)), dataCursor: step * batchSize * seqLen,
            rngState: rng.stateBytes, generator: Xoshiro256StarStar.generatorName)
        var history = TrainingHistory()
        var noise = Xoshiro256StarStar(seed: seed ^ 0x4849_5354)  // "HIST"
        for logged in stride(from: 10, through: step, by: 10) {
            // A loss curve falling from about ln(256) = 5.545, with a little noise.
            let loss = 5.545 - 0.01 * Double(logged) + 0.01 * Double(noise.nextGaussian())
            history.append(step: logged, loss: loss, lr: schedule.learningRate(atStep: logged - 1),
                           tokens: logged * batchSize * seqLen)
        }
        let record = ProvenanceRecord(operatorName: "make-fixture", arguments: arguments, toolVersion: toolVersion, time: time)
        return CheckpointMetadata(
            config: config,
            optimizer: AdamWHyperparameters(lr: schedule.learningRate(atStep: step - 1), beta1: 0.9, beta2: 0.95,
                                            eps: 1e-8, weightDecay: 0.1),
            schedule: schedule, trainer: trainer, history: history, provenance: [record])
    }

    /// The value and AdamW state of parameter number `index` (canonical order) of `spec`.
    public static func parameter(_ spec: ParameterSpec, index: Int, seed: UInt64, step: Int = fixtureStep) -> (Tensor, AdamParameterState) {
        var rng = Xoshiro256StarStar(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(index + 1))
        let count = spec.elementCount
        let isNormWeight = spec.kind == .normWeight
        let values: [Float] = (0..<count).map { _ in
            isNormWeight ? 1 + 0.1 * rng.nextGaussian() : 0.02 * rng.nextGaussian()
        }
        let expAvg: [Float] = (0..<count).map { _ in 1e-3 * rng.nextGaussian() }
        let expAvgSq: [Float] = (0..<count).map { _ in
            let g = 1e-3 * rng.nextGaussian()
            return g * g + 1e-8
        }
        let state = AdamParameterState(expAvg: Tensor(shape: spec.shape, data: expAvg),
                                       expAvgSq: Tensor(shape: spec.shape, data: expAvgSq),
                                       step: step, applyWeightDecay: spec.defaultWeightDecay)
        return (Tensor(shape: spec.shape, data: values), state)
    }

    /// A whole random state in memory (small models only).
    public static func state(config: ModelConfig, seed: UInt64, arguments: [String: JSONValue] = [:],
                             toolVersion: String = "test", time: String = "2026-01-01T00:00:00Z") -> TrainingState {
        let metadata = fixtureMetadata(config: config, seed: seed, arguments: arguments, toolVersion: toolVersion, time: time)
        var parameters: [String: Tensor] = [:]
        var optimizerState: [String: AdamParameterState] = [:]
        for (index, spec) in config.parameters().enumerated() {
            let (value, moments) = parameter(spec, index: index, seed: seed)
            parameters[spec.name] = value
            optimizerState[spec.name] = moments
        }
        return TrainingState(metadata: metadata, parameters: parameters, optimizerState: optimizerState)
    }
}
