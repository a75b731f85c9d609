import Foundation
import GrowkitModel
import GrowkitState
import GrowkitTraining
import Testing

@Suite("Backward pass against Hugging Face gradients and a float64 naive model")
struct BackwardTests {
    @Test(arguments: ReferenceCase.standardNames)
    func gradientsMatchTransformers(case name: String) throws {
        let comparisons = try ReferenceCase(folder: hfFixtures, name: name).compareGradients()
        #expect(comparisons.count > 10)
        for c in comparisons where c.name.hasSuffix("k_proj.bias") {
            // Exactly zero in exact arithmetic: adding b to every key adds q.b to a whole score row,
            // which softmax ignores. Both sides hold float32 rounding noise (~1e-8), so no scale.
            #expect(c.scale <= 1e-6 && c.maxAbsDifference <= 1e-6, "\(name): \(c.name) is not ~0: \(c)")
        }
        for c in comparisons where !c.name.hasSuffix("k_proj.bias") {
            // The brief's bar: max |dgrad| within 1e-4 of the tensor's scale (max |g_ref|). Both sides are
            // float32 sums of a few hundred O(scale) terms in different orders (~1e-6 relative each).
            #expect(c.scale > 0, "\(name): \(c.name) has an all-zero reference gradient")
            #expect(c.maxAbsDifference <= 1e-4 * c.scale,
                    "\(name): \(c.name) max |dgrad| = \(c.maxAbsDifference), scale \(c.scale)")
        }
    }

    /// Every parameter of every tiny config (both families, biases on and off, tied and untied,
    /// GQA, MQA, head_dim != hidden/heads) against central differences of the naive float64 model.
    @Test(arguments: tinyConfigs.indices)
    func gradientsMatchFiniteDifferencesOfNaiveModel(configIndex: Int) throws {
        let (name, config) = tinyConfigs[configIndex]
        let B = 2, T = 5
        var params = randomParameters(config, seed: UInt64(configIndex) + 21)
        var rng = TestRandom(seed: 77)
        let tokens = (0..<(B * T)).map { _ in rng.int(below: config.vocabSize) }
        var targets = (0..<(B * T)).map { _ in rng.int(below: config.vocabSize) }
        targets[3] = -100
        let weights = try ModelWeights(config: config, parameters: params)
        let acts = try Activations(config: config, batchSize: B, seqLen: T)
        let grads = try Gradients(for: acts)
        try weights.forward(tokens: tokens.map(Int32.init), targets: targets.map(Int32.init), activations: acts)
        try weights.backward(activations: acts, gradients: grads)

        func naiveLoss(_ p: [String: Tensor]) -> Double {
            let model = NaiveModel(config: config, p: p)
            var logits: [[Double]] = []
            for b in 0..<B { logits += model.sequenceLogits(Array(tokens[(b * T)..<((b + 1) * T)])) }
            return NaiveModel.crossEntropy(logits: logits, targets: targets)
        }
        for spec in config.parameters() {
            let ours = try #require(grads.tensor(named: spec.name)).data
            // The largest entry and two random ones, so no tensor passes on zeros alone.
            let largest = ours.indices.max(by: { abs(ours[$0]) < abs(ours[$1]) })!
            for index in [largest, rng.int(below: ours.count), rng.int(below: ours.count)] {
                let original = params[spec.name]!.data[index]
                // Perturb in float32 (the naive model reads float32 weights) and divide by the
                // step actually taken; in float64, h = 1e-3 leaves a truncation error ~h^2 |f'''| ~ 1e-7.
                let up = original + 1e-3, down = original - 1e-3
                params[spec.name]!.data[index] = up
                let lossUp = naiveLoss(params)
                params[spec.name]!.data[index] = down
                let lossDown = naiveLoss(params)
                params[spec.name]!.data[index] = original
                let numeric = (lossUp - lossDown) / (Double(up) - Double(down))
                // float32 backward through 2-3 blocks of width <= 44: ~1e-6 relative; 1e-4 absolute plus
                // 1e-3 relative still catches any wrong term (those err by 1e-2 or more).
                #expect(abs(Double(ours[index]) - numeric) <= 1e-4 + 1e-3 * abs(numeric),
                        "\(name): \(spec.name)[\(index)] backward \(ours[index]) vs finite difference \(numeric)")
            }
        }
    }

    @Test func backwardRefusesForwardOnlyActivations() throws {
        let config = tinyConfigs[0].1
        let weights = try ModelWeights(config: config, parameters: randomParameters(config, seed: 1))
        let acts = try Activations(config: config, batchSize: 1, seqLen: 4, keepForBackward: false)
        let grads = try Gradients(for: acts)
        try weights.forward(tokens: [1, 2, 3, 4], targets: [2, 3, 4, 5], activations: acts)
        #expect(throws: ModelError.self) { try weights.backward(activations: acts, gradients: grads) }
        let kept = try Activations(config: config, batchSize: 1, seqLen: 4)
        try weights.forward(tokens: [1, 2, 3, 4], activations: kept)
        #expect(throws: ModelError.self) { try weights.backward(activations: kept, gradients: try Gradients(for: kept)) }
    }
}
