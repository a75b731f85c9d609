import Foundation
import GrowkitCheckpoint
import GrowkitModel
import GrowkitState
import GrowkitStorage
import GrowkitTraining
import Testing

/// fixtures/hf/ in the repository.
let hfFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures/hf").path

/// Ten steps of torch.optim.AdamW with clip_grad_norm_ and a cosine schedule
/// (tools/make_hf_reference.py, `<case>.adamw.h5`), replayed by our trainer step on the same batches.
@Suite("AdamW, clipping and the cosine schedule against torch")
struct AdamWReferenceTests {
    @Test(arguments: ["gpt2_tied", "llama_gqa"])
    func tenStepsMatchTorch(case name: String) throws {
        let reader = try CheckpointReader(path: "\(hfFixtures)/\(name).h5")
        let config = reader.config
        let weights = try ModelWeights(config: config, parameters: try reader.parameters())
        let reference = try HDF5File.openReadOnly("\(hfFixtures)/\(name).adamw.h5")
        defer { try? reference.close() }
        let shape = try reference.openDataset("tokens").shapeAndType().shape  // [steps, B, T]
        let steps = shape[0], B = shape[1], T = shape[2]
        let tokens = try reference.readDataset("tokens", as: Int64.self).map { Int32($0) }
        let targets = try reference.readDataset("targets", as: Int64.self).map { Int32($0) }
        let losses = try reference.readDataset("loss", as: Double.self)
        let lrs = try reference.readDataset("lr", as: Double.self)
        let norms = try reference.readDataset("grad_norm", as: Double.self)
        let hyper = AdamWHyperparameters(lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
        let schedule = Schedule(kind: .cosine, peakLR: 1e-2, minLR: 1e-3, warmupSteps: 3, totalSteps: 10)
        let stepper = try TrainingStepper(
            weights: weights, optimizer: AdamWOptimizer(config: config, hyperparameters: hyper), schedule: schedule,
            maxGradNorm: 1.0, step: 0, batchSize: B, seqLen: T)
        for s in 0..<steps {
            let range = (s * B * T)..<((s + 1) * B * T)
            stepper.inputs[0] = Array(tokens[range])
            stepper.targets[0] = Array(targets[range])
            let outcome = try stepper.step()
            // Same formula in float64 on both sides (FORMAT.md); only libm's cos may differ by an ulp.
            #expect(abs(outcome.lr - lrs[s]) <= 1e-15, "step \(s): lr \(outcome.lr) vs torch \(lrs[s])")
            // The loss is a mean of float32 cross-entropies (~1e-6 relative each); after s updates the
            // weights differ by float32 rounding amplified by Adam's normalisation (see below), which
            // moves a loss of ~6.8 by a few 1e-5 at most.
            #expect(abs(outcome.loss - losses[s]) <= 1e-5 * losses[s], "step \(s): loss \(outcome.loss) vs torch \(losses[s])")
            #expect(abs(outcome.gradientNorm - norms[s]) <= 1e-4 * norms[s], "step \(s): grad norm \(outcome.gradientNorm) vs torch \(norms[s])")
        }
        let states = stepper.optimizer.states()
        let final = stepper.weights
        for spec in config.parameters() {
            let expectedW = try reference.readDataset("params/\(spec.storagePath)", as: Float.self)
            let expectedM = try reference.readDataset("exp_avg/\(spec.storagePath)", as: Float.self)
            let expectedV = try reference.readDataset("exp_avg_sq/\(spec.storagePath)", as: Float.self)
            let ours = try #require(final.tensor(named: spec.name)).data
            let state = try #require(states[spec.name])
            #expect(state.step == steps)
            let dW = maxDifference(ours, expectedW), dM = maxDifference(state.expAvg.data, expectedM)
            let dV = maxDifference(state.expAvgSq.data, expectedV)
            if spec.name.hasSuffix("k_proj.bias") {
                // Its gradient is exactly 0 in exact arithmetic (softmax ignores a shift of a score row),
                // so both sides feed float32 noise (~1e-8) to Adam, which normalises it to steps of
                // up to lr each: the two random walks may differ by at most 2 sum(lr).
                #expect(dW <= 2 * lrs.reduce(0, +), "\(name): \(spec.name) max |dW| = \(dW)")
                #expect(dM <= 1e-6 && dV <= 1e-12, "\(name): \(spec.name) moments differ by \(dM), \(dV)")
                continue
            }
            // Weights move by at most sum(lr) = 0.06 in 10 steps; float32 differences of the gradients
            // (1e-6 of their scale) change Adam's m / sqrt(v) by as much only where a gradient is
            // near its noise floor, so 1e-4 of the weights' scale (~1) is ample and still 1/600 of
            // the total movement a wrong update rule would get wrong.
            #expect(dW <= 1e-4 * max(1, scale(expectedW)), "\(name): \(spec.name) max |dW| = \(dW)")
            // Moments: float32 sums of clipped gradients, relative to their own scale.
            #expect(dM <= 1e-4 * scale(expectedM), "\(name): \(spec.name) max |dm| = \(dM), scale \(scale(expectedM))")
            #expect(dV <= 1e-4 * scale(expectedV), "\(name): \(spec.name) max |dv| = \(dV), scale \(scale(expectedV))")
        }
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { max($0, abs(Double($1.0) - Double($1.1))) }
    }

    func scale(_ a: [Float]) -> Double { a.reduce(0) { max($0, abs(Double($1))) } }
}
