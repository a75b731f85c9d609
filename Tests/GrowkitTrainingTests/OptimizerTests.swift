import Foundation
import GrowkitModel
import GrowkitState
import GrowkitTraining
import Testing

let tinyLlama = ModelConfig.llama(vocabSize: 11, hiddenSize: 8, numLayers: 1, numHeads: 2, numKVHeads: 1,
                                  intermediateSize: 12)

@Suite("AdamW update rule, per-parameter step, decay flag and frozen tensors (hand-worked)")
struct OptimizerTests {
    @Test func perParameterStepDecayAndFreezing() {
        let hyper = AdamWHyperparameters(lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.5)
        var optimizer = AdamWOptimizer(config: tinyLlama, hyperparameters: hyper)
        let layout = optimizer.layout
        let embed = layout.index(of: "model.embed_tokens.weight")!  // matrix: decays, fresh
        let norm = layout.index(of: "model.norm.weight")!  // vector: no decay; give it history
        let frozen = layout.index(of: "lm_head.weight")!
        optimizer.steps[norm] = 3
        let no = layout.offsets[norm]
        optimizer.expAvg[no] = 0.2
        optimizer.expAvgSq[no] = 0.04
        optimizer.trainable[frozen] = false
        var params = [Float](repeating: 1, count: layout.count)
        var grads = [Float](repeating: 0.5, count: layout.count)
        let frozenStart = layout.offsets[frozen]
        optimizer.expAvg[frozenStart] = 0.7
        let lr = 0.1
        grads.withUnsafeMutableBufferPointer { g in
            _ = optimizer.step(parameters: &params, gradients: g.baseAddress!, lr: lr, maxGradNorm: nil)
        }
        // Fresh matrix, t = 1: m = 0.05, v = 0.0025, m^ = 0.5, v^ = 0.25: theta = 1 (1 - 0.1 * 0.5) - 0.1 * 0.5 / 0.5.
        let eo = layout.offsets[embed]
        #expect(abs(Double(params[eo]) - (0.95 - 0.1 * 0.5 / (0.5 + 1e-8))) < 1e-6)
        #expect(optimizer.steps[embed] == 1)
        // Vector at t = 4 with m = 0.2, v = 0.04, no decay:
        let m = 0.9 * 0.2 + 0.1 * 0.5, v = 0.99 * 0.04 + 0.01 * 0.25
        let expected = 1 - lr / (1 - pow(0.9, 4)) * m / ((v / (1 - pow(0.99, 4))).squareRoot() + 1e-8)
        #expect(abs(Double(params[no]) - expected) < 1e-6, "\(params[no]) vs \(expected)")
        #expect(abs(Double(optimizer.expAvg[no]) - m) < 1e-7 && abs(Double(optimizer.expAvgSq[no]) - v) < 1e-7)
        #expect(optimizer.steps[norm] == 4)
        // Frozen: values, moments and step untouched.
        #expect(params[frozenStart] == 1 && optimizer.expAvg[frozenStart] == 0.7 && optimizer.steps[frozen] == 0)
    }

    @Test func clippingScalesToTheMaximumNorm() {
        var optimizer = AdamWOptimizer(config: tinyLlama, hyperparameters: AdamWHyperparameters())
        var params = [Float](repeating: 0, count: optimizer.layout.count)
        var grads = [Float](repeating: 2, count: optimizer.layout.count)
        let expectedNorm = 2 * Double(grads.count).squareRoot()
        let norm = grads.withUnsafeMutableBufferPointer { g in
            optimizer.step(parameters: &params, gradients: g.baseAddress!, lr: 0, maxGradNorm: 1)
        }
        #expect(abs(norm - expectedNorm) < 1e-9 * expectedNorm)
        // torch: g *= max_norm / (norm + 1e-6), so the clipped norm is just below 1.
        let clipped = grads.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(abs(clipped - 1) < 1e-5)
    }

    @Test func stepperFollowsTheReWarmupSegment() throws {
        let weights = try ModelWeights(config: tinyLlama, parameters: ModelInitialization.gpt2Style(config: tinyLlama, seed: 1))
        // Cosine from 0.01 to 0.001 over 20 steps, warmup 2, re-warmup over 4 steps from step 5.
        let schedule = Schedule(kind: .cosine, peakLR: 0.01, minLR: 0.001, warmupSteps: 2, totalSteps: 20,
                                rewarmStart: 5, rewarmSteps: 4)
        let stepper = try TrainingStepper(
            weights: weights, optimizer: AdamWOptimizer(config: tinyLlama, hyperparameters: AdamWHyperparameters()),
            schedule: schedule, maxGradNorm: 1, step: 0, batchSize: 1, seqLen: 4)
        stepper.inputs[0] = [1, 2, 3, 4]
        stepper.targets[0] = [2, 3, 4, 5]
        var lrs: [Double] = []
        for _ in 0..<10 { lrs.append(try stepper.step().lr) }
        // Hand-worked from FORMAT.md: warmup 0.005, 0.01; cosine c(s) = 0.001 + 0.009 (1 + cos(pi (s-2)/18)) / 2;
        // steps 5..8 multiplied by 1/4, 2/4, 3/4, 4/4.
        func cosine(_ s: Double) -> Double { 0.001 + 0.009 * (1 + cos(Double.pi * (s - 2) / 18)) / 2 }
        let expected = [0.005, 0.01, cosine(2), cosine(3), cosine(4), cosine(5) / 4, cosine(6) / 2, cosine(7) * 3 / 4,
                        cosine(8), cosine(9)]
        for (ours, theirs) in zip(lrs, expected) { #expect(abs(ours - theirs) < 1e-15) }
    }
}
