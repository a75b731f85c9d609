import Foundation
import GrowkitModel
import GrowkitCheckpoint
import GrowkitState
import Numerics
import Testing

/// Tiny configs covering both families and the flags each family can toggle.
/// Odd widths exercise the scalar tails of the vector loops; `headDim` differs
/// from `hidden / heads` where the family allows it.
let tinyConfigs: [(String, ModelConfig)] = {
    var gpt2 = ModelConfig.gpt2(vocabSize: 37, hiddenSize: 12, numLayers: 2, numHeads: 3, maxPosition: 80)
    gpt2.intermediateSize = 44
    var gpt2NoBias = gpt2
    gpt2NoBias.attentionBias = false
    gpt2NoBias.mlpBias = false
    gpt2NoBias.tieEmbeddings = false
    let llama = ModelConfig.llama(vocabSize: 29, hiddenSize: 12, numLayers: 2, numHeads: 4, numKVHeads: 2,
                                  intermediateSize: 20, headDim: 6, ropeTheta: 500)
    var llamaMQA = ModelConfig.llama(vocabSize: 31, hiddenSize: 16, numLayers: 3, numHeads: 4, numKVHeads: 1,
                                     intermediateSize: 24, normEps: 1e-6, tieEmbeddings: true)
    llamaMQA.attentionBias = true
    llamaMQA.mlpBias = true
    return [("gpt2", gpt2), ("gpt2-nobias-untied", gpt2NoBias), ("llama-gqa", llama), ("llama-mqa-bias-tied", llamaMQA)]
}()

@Suite("Whole-model forward against a naive Double-precision model")
struct ForwardTests {
    // (3, 5): rows shorter than one vector; (8, 70): 560 positions, enough for the row-parallel
    // paths of the norms, RoPE and cross-entropy.
    @Test(arguments: tinyConfigs.indices, [(3, 5), (2, 9), (1, 70), (8, 70)])
    func logitsAndLossMatchNaiveModel(configIndex: Int, shape: (Int, Int)) throws {
        let (_, config) = tinyConfigs[configIndex]
        let (B, T) = shape
        let params = randomParameters(config, seed: UInt64(configIndex) + 11)
        let weights = try ModelWeights(config: config, parameters: params)
        var rng = TestRandom(seed: 99)
        let tokens = (0..<(B * T)).map { _ in rng.int(below: config.vocabSize) }
        var targets = (0..<(B * T)).map { _ in rng.int(below: config.vocabSize) }
        targets[1] = -100  // an ignored position must not count
        let output = try weights.forward(tokens: tokens.map(Int32.init), targets: targets.map(Int32.init),
                                         batchSize: B, seqLen: T)
        #expect(output.logits.shape == [B, T, config.vocabSize])

        let naive = NaiveModel(config: config, p: params)
        var reference: [[Double]] = []
        for b in 0..<B { reference += naive.sequenceLogits(Array(tokens[(b * T)..<((b + 1) * T)])) }
        let V = config.vocabSize
        var maxDiff = 0.0
        for n in 0..<(B * T) {
            for v in 0..<V { maxDiff = max(maxDiff, abs(Double(output.logits.data[n * V + v]) - reference[n][v])) }
        }
        // Logits are O(1..10); float32 carries ~7 digits and errors add over a few layers of
        // dot products of length <= 44, so 1e-5..1e-4 absolute is the expected scale; 2e-4 would
        // still catch any convention error (those move logits by >1e-2).
        #expect(maxDiff < 2e-4, "max |dlogit| = \(maxDiff)")
        let loss = try #require(output.loss)
        let referenceLoss = NaiveModel.crossEntropy(logits: reference, targets: targets)
        // The loss is a mean of O(1) terms each within ~1e-5 of its reference.
        #expect(Double(loss).isApproximatelyEqual(to: referenceLoss, relativeTolerance: 1e-5),
                "loss \(loss) vs \(referenceLoss)")
    }

    /// Every ``MatmulThreading`` mode against the naive model. 140 positions are enough rows for
    /// `.splitRows` to cut each projection in two; these widths are too narrow for `.splitColumns`
    /// to split (it then runs as one call), whose split is checked in `KernelTests`.
    @Test(arguments: [0, 3], MatmulThreading.allCases)
    func everyMatmulThreadingMatchesNaiveModel(configIndex: Int, threading: MatmulThreading) throws {
        let (_, config) = tinyConfigs[configIndex]
        let B = 2, T = 70
        let params = randomParameters(config, seed: UInt64(configIndex) + 21)
        var weights = try ModelWeights(config: config, parameters: params)
        weights.matmulThreading = threading
        var rng = TestRandom(seed: 7)
        let tokens = (0..<(B * T)).map { _ in rng.int(below: config.vocabSize) }
        let output = try weights.forward(tokens: tokens.map(Int32.init), batchSize: B, seqLen: T)
        let naive = NaiveModel(config: config, p: params)
        let V = config.vocabSize
        var maxDiff = 0.0
        for b in 0..<B {
            let reference = naive.sequenceLogits(Array(tokens[(b * T)..<((b + 1) * T)]))
            for t in 0..<T {
                for v in 0..<V {
                    maxDiff = max(maxDiff, abs(Double(output.logits.data[(b * T + t) * V + v]) - reference[t][v]))
                }
            }
        }
        // Same scale argument as `logitsAndLossMatchNaiveModel`: float32 rounding over a few layers.
        #expect(maxDiff < 2e-4, "max |dlogit| = \(maxDiff) with \(threading)")
    }

    @Test func keptAndSharedActivationsGiveIdenticalLogits() throws {
        let config = tinyConfigs[2].1
        let weights = try ModelWeights(config: config, parameters: randomParameters(config, seed: 5))
        let tokens = (0..<18).map { Int32($0 % config.vocabSize) }
        let kept = try Activations(config: config, batchSize: 2, seqLen: 9, keepForBackward: true)
        let shared = try Activations(config: config, batchSize: 2, seqLen: 9, keepForBackward: false)
        let lossKept = try weights.forward(tokens: tokens, targets: tokens, activations: kept)
        let lossShared = try weights.forward(tokens: tokens, targets: tokens, activations: shared)
        #expect(lossKept == lossShared)
        #expect(kept.logitsTensor() == shared.logitsTensor())
        // Kept activations are distinct per layer: layer 1's input is layer 0's output.
        #expect(kept.blocks[0].residualIn != kept.blocks[1].residualIn)
    }

    /// The forward pass runs q/k/v and gate/up as single sgemm calls over adjacent weights.
    @Test(arguments: tinyConfigs.indices)
    func fusedProjectionsAreAdjacentInTheFlatBuffer(configIndex: Int) throws {
        let config = tinyConfigs[configIndex].1
        let layout = ParameterLayout(config: config)
        let C = config.hiddenSize, I = config.intermediateSize
        let qw = config.queryWidth, kvw = config.keyValueWidth
        #expect(Set(layout.specs.map(\.name)) == Set(config.parameters().map(\.name)))
        for l in 0..<config.numLayers {
            func at(_ name: String) throws -> Int {
                try #require(layout.offset(of: "model.layers.\(l).\(name)"))
            }
            #expect(try at("self_attn.k_proj.weight") == at("self_attn.q_proj.weight") + qw * C)
            #expect(try at("self_attn.v_proj.weight") == at("self_attn.k_proj.weight") + kvw * C)
            if config.attentionBias {
                #expect(try at("self_attn.k_proj.bias") == at("self_attn.q_proj.bias") + qw)
                #expect(try at("self_attn.v_proj.bias") == at("self_attn.k_proj.bias") + kvw)
            }
            if config.activation == .swiglu {
                #expect(try at("mlp.up_proj.weight") == at("mlp.gate_proj.weight") + I * C)
                if config.mlpBias { #expect(try at("mlp.up_proj.bias") == at("mlp.gate_proj.bias") + I) }
            }
        }
    }

    @Test func weightsRoundTripThroughTheFlatBuffer() throws {
        let config = tinyConfigs[0].1
        let params = randomParameters(config, seed: 3)
        let weights = try ModelWeights(config: config, parameters: params)
        #expect(weights.parameterDictionary() == params)
        #expect(weights.values.count == config.parameterCount)
        let again = try ModelWeights(config: config, values: weights.values)
        #expect(again.parameterDictionary() == params)
        var broken = weights.values
        let offset = try #require(weights.layout.offset(of: "model.layers.1.mlp.up_proj.weight"))
        broken[offset + 7] = .nan
        #expect {
            try ModelWeights(config: config, values: broken)
        } throws: { error in
            guard case ModelError.nonFiniteWeight(let name, let index, _) = error else { return false }
            return name == "model.layers.1.mlp.up_proj.weight" && index == 7
        }
        #expect(throws: ModelError.self) { try ModelWeights(config: config, values: Array(broken.dropLast())) }
    }
}
