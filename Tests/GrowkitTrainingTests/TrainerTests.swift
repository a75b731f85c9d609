import Foundation
import GrowkitData
import GrowkitCheckpoint
import GrowkitModel
import GrowkitState
import GrowkitTraining
import Testing

let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures/jargon-file-4.4.7.txt.zst").path

/// A small model of each family, so a run of a few steps takes well under a second.
let trainerConfigs: [ModelConfig] = [
    .gpt2(vocabSize: 256, hiddenSize: 32, numLayers: 2, numHeads: 2, maxPosition: 64),
    .llama(vocabSize: 256, hiddenSize: 32, numLayers: 2, numHeads: 4, numKVHeads: 2, intermediateSize: 48,
           maxPosition: 64),
]

func temporaryFolder() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("growkit-train-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func plan(_ start: TrainingPlan.Start, out: String, steps: Int, batchSize: Int = 4) -> TrainingPlan {
    var p = TrainingPlan(start: start, dataPath: corpus, outputPath: out)
    p.batchSize = batchSize
    p.seqLen = 32
    p.steps = steps
    p.scheduleChanges.peakLR = 3e-3
    p.scheduleChanges.warmupSteps = 2
    p.scheduleChanges.totalSteps = 10
    return p
}

@Suite("The bundled trainer: resume, cursor, errors")
struct TrainerTests {
    /// N steps straight equal k steps, save, load, N - k steps: weights, moments, steps, history and
    /// trainer position bit for bit (DESIGN.md section 7).
    @Test(arguments: trainerConfigs.indices)
    func resumeIsBitExact(configIndex: Int) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = trainerConfigs[configIndex]
        let straight = "\(folder)/straight.h5", split = "\(folder)/split.h5"
        try Trainer.run(plan(.new(config: config, seed: 5), out: straight, steps: 7))
        try Trainer.run(plan(.new(config: config, seed: 5), out: split, steps: 3))
        try Trainer.run(plan(.resume(path: split, config: config), out: split, steps: 7))
        let a = try CheckpointReader(path: straight).readAll(), b = try CheckpointReader(path: split).readAll()
        #expect(a.trainer.step == 7 && b.trainer.step == 7)
        #expect(a.history.count == 7)
        #expect(a.history == b.history)
        #expect(a.trainer == b.trainer)
        #expect(a.schedule == b.schedule && a.optimizer == b.optimizer)
        for name in a.orderedNames {
            // Bit patterns, so -0 vs 0 or two NaNs could not pass as equal either.
            #expect(a.parameters[name]!.data.map(\.bitPattern) == b.parameters[name]!.data.map(\.bitPattern), "\(name)")
            let ma = a.optimizerState[name]!, mb = b.optimizerState[name]!
            #expect(ma.expAvg.data.map(\.bitPattern) == mb.expAvg.data.map(\.bitPattern), "\(name) exp_avg")
            #expect(ma.expAvgSq.data.map(\.bitPattern) == mb.expAvgSq.data.map(\.bitPattern), "\(name) exp_avg_sq")
            #expect(ma.step == 7 && mb.step == 7)
        }
        // Training did something: the loss fell from about ln 256.
        #expect(a.history.loss.last! < a.history.loss.first! - 0.2)
    }

    /// A changed batch size on resume keeps the cursor in tokens: 2 steps of 4 rows then 4 steps of
    /// 2 rows read the same windows as 4 steps of 4 rows, so the cursor and tokens seen agree.
    @Test func changedBatchSizeKeepsTheCursorInTokens() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = trainerConfigs[1]
        let a = "\(folder)/a.h5", b = "\(folder)/b.h5"
        try Trainer.run(plan(.new(config: config, seed: 1), out: a, steps: 4, batchSize: 4))
        try Trainer.run(plan(.new(config: config, seed: 1), out: b, steps: 2, batchSize: 4))
        try Trainer.run(plan(.resume(path: b, config: nil), out: b, steps: 6, batchSize: 2))
        let ta = try CheckpointReader(path: a).trainer, tb = try CheckpointReader(path: b).trainer
        #expect(ta.dataCursor == 4 * 4 * 32)
        #expect(tb.dataCursor == ta.dataCursor && tb.tokensSeen == ta.tokensSeen)
        #expect(tb.batchSize == 2)
    }

    @Test func resumingAnotherModelShapeIsRefused() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/a.h5"
        try Trainer.run(plan(.new(config: trainerConfigs[0], seed: 1), out: path, steps: 1))
        var wider = trainerConfigs[0]
        wider.hiddenSize = 64
        wider.headDim = 32
        #expect(throws: TrainingError.self) {
            try Trainer.run(plan(.resume(path: path, config: wider), out: path, steps: 2))
        }
    }

    /// The loss (or its gradient) turns non-finite a step or two after a huge learning rate: the run stops naming that
    /// step, and the checkpoint saved before it is intact.
    @Test func nonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/a.h5"
        var p = plan(.new(config: trainerConfigs[1], seed: 1), out: path, steps: 5)
        p.scheduleChanges.peakLR = 1e30
        p.scheduleChanges.warmupSteps = 0
        p.scheduleChanges.kind = .constant
        p.maxGradNorm = nil
        p.saveEvery = 1
        var failure: TrainingError?
        do { _ = try Trainer.run(p) } catch { failure = error }
        // Whichever overflows first: the loss, or the gradient of a still finite loss.
        let step: Int, last: String?
        switch failure {
        case .nonFiniteLoss(let s, _, let l)?: (step, last) = (s, l)
        case .nonFiniteGradient(let s, let l)?: (step, last) = (s, l)
        default:
            Issue.record("expected a non-finite loss or gradient, got \(String(describing: failure))")
            return
        }
        // Weights of ~1e30 overflow float32 products within a step or two.
        #expect(step >= 2 && step <= 5)
        #expect(last == path)
        let saved = try CheckpointReader(path: path).readAll()
        #expect(saved.trainer.step == step - 1, "the checkpoint of the last finite step")
        #expect(saved.history.loss.allSatisfy(\.isFinite) && saved.history.count == step - 1)
        #expect(failure!.description.contains("step \(step)") && failure!.description.contains(path))
    }
}
