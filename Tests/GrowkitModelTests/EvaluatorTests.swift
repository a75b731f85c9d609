import Foundation
import GrowkitData
import GrowkitTraining
import Testing

/// The evaluation loop with an analytic stand-in for the model: the "loss" of a
/// batch is the mean of its target ids, so every figure can be recomputed by hand.
/// (The tests of the loop with the real forward pass are in Tests/GrowkitCLITests/EvalCommandTests.swift.)
@Suite struct EvaluatorTests {
    static func rampSource(_ count: Int) throws -> (TokenSource, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("growkit-eval-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let bytes = (0..<count).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let url = folder.appendingPathComponent("ramp.bin")
        try Data(bytes).write(to: url)
        return (try TokenSource(path: url.path), folder)
    }

    static func meanTarget(_ batch: TokenBatch) -> Double {
        Double(batch.targets.reduce(0) { $0 + Int($1) }) / Double(batch.targets.count)
    }

    @Test func meanLossPerplexityAndProgress() throws {
        let (source, folder) = try Self.rampSource(1000)
        defer { try? FileManager.default.removeItem(at: folder) }
        let settings = EvaluationSettings(batches: 5, batchSize: 3, seqLen: 4, seed: 11)
        var reports = [EvaluationProgress]()
        var seen = [Double]()
        // Scale the ramp into a loss-like range so exp() stays finite.
        let result = try Evaluator.evaluate(data: source, settings: settings, checkpoint: "c.h5",
                                            batchLoss: { batch in let loss = Self.meanTarget(batch) / 500; seen.append(loss); return loss },
                                            progress: { reports.append($0) })
        let expectedMean = seen.reduce(0, +) / 5
        #expect(result.batchLosses == seen)
        #expect(abs(result.meanLoss - expectedMean) <= 1e-12)
        #expect(abs(result.perplexity - Foundation.exp(expectedMean)) <= 1e-12 * result.perplexity)
        #expect(result.tokens == 5 * 3 * 4)
        #expect(reports.map(\.batch) == [1, 2, 3, 4, 5])
        #expect(reports.map(\.tokens) == [12, 24, 36, 48, 60])
        #expect(abs(reports[1].meanLoss - (seen[0] + seen[1]) / 2) <= 1e-12)

        // Same seed, same batches; another seed, other batches.
        let again = try Evaluator.evaluate(data: source, settings: settings, checkpoint: "c.h5", batchLoss: { Self.meanTarget($0) })
        let other = try Evaluator.evaluate(data: source, settings: EvaluationSettings(batches: 5, batchSize: 3, seqLen: 4, seed: 12),
                                           checkpoint: "c.h5", batchLoss: { Self.meanTarget($0) })
        #expect(again.batchLosses == seen.map { $0 * 500 })
        #expect(other.batchLosses != again.batchLosses)
    }

    @Test func badSettingsAndShortDataAndNonFiniteLoss() throws {
        let (source, folder) = try Self.rampSource(10)
        defer { try? FileManager.default.removeItem(at: folder) }
        func failure(_ settings: EvaluationSettings, loss: Double = 1) -> EvaluationError? {
            do { _ = try Evaluator.evaluate(data: source, settings: settings, checkpoint: "c.h5", batchLoss: { _ in loss }); return nil }
            catch { return error }
        }
        #expect(failure(EvaluationSettings(batches: 0, batchSize: 1, seqLen: 4, seed: 0))?.description.contains("--batches") == true)
        #expect(failure(EvaluationSettings(batches: 1, batchSize: 0, seqLen: 4, seed: 0))?.description.contains("--batch-size") == true)
        #expect(failure(EvaluationSettings(batches: 1, batchSize: 1, seqLen: 10, seed: 0))
                == .data(.tooShort(path: source.path, tokens: 10, seqLen: 10)))
        #expect(failure(EvaluationSettings(batches: 2, batchSize: 1, seqLen: 4, seed: 0), loss: .nan)
                .map { if case .nonFiniteLoss(_, 1, _) = $0 { true } else { false } } == true)
    }
}

import GrowkitModel
import GrowkitRandom
import GrowkitCheckpoint
import GrowkitState

/// The model-backed evaluator on tiny random models: the checks it makes before
/// running, and agreement with a direct forward pass on the same windows.
@Suite struct ModelEvaluatorTests {
    static func weights(_ config: ModelConfig, seed: UInt64 = 3) throws -> ModelWeights {
        var generator = Xoshiro256StarStar(seed: seed)
        var parameters = [String: Tensor]()
        for spec in config.parameters() {
            parameters[spec.name] = Tensor(shape: spec.shape, data: (0..<spec.elementCount).map { _ in 0.2 * generator.nextGaussian() })
        }
        return try ModelWeights(config: config, parameters: parameters)
    }

    static func textSource(_ text: String) throws -> (TokenSource, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("growkit-eval-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent("text.txt")
        try Data(text.utf8).write(to: url)
        return (try TokenSource(path: url.path), folder)
    }

    /// Each batch loss is the forward pass's loss on the sampler's batch for the same seed
    /// (bit-identical: same kernels, same inputs); the mean is their float64 mean.
    @Test func matchesDirectForwardPasses() throws {
        let (source, folder) = try Self.textSource(String(repeating: "growing transformers, one state at a time. ", count: 20))
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = try Self.weights(.gpt2(hiddenSize: 16, numLayers: 1, numHeads: 2, maxPosition: 16))
        let settings = EvaluationSettings(batches: 3, batchSize: 2, seqLen: 12, seed: 5)
        let result = try Evaluator.evaluate(weights: weights, checkpoint: "tiny.h5", data: source, settings: settings)
        var sampler = try RandomWindowSampler(source: source, batchSize: 2, seqLen: 12, seed: 5)
        var direct = [Double]()
        for _ in 0..<3 {
            let batch = try sampler.next()
            direct.append(Double(try #require(try weights.forward(tokens: batch.inputs, targets: batch.targets, batchSize: 2, seqLen: 12).loss)))
        }
        #expect(result.batchLosses == direct)
        #expect(abs(result.meanLoss - direct.reduce(0, +) / 3) <= 1e-12)
        // A random model on bytes is close to uniform over 256 ids: loss near ln 256 = 5.55.
        #expect(abs(result.meanLoss - Foundation.log(256)) < 1.5)
    }

    @Test func learnedPositionsLimitTheSequenceLengthRopeDoesNot() throws {
        let (source, folder) = try Self.textSource(String(repeating: "abcdefgh", count: 10))
        defer { try? FileManager.default.removeItem(at: folder) }
        let gpt2 = try Self.weights(.gpt2(hiddenSize: 8, numLayers: 1, numHeads: 2, maxPosition: 8))
        let settings = EvaluationSettings(batches: 1, batchSize: 1, seqLen: 9, seed: 0)
        var failure: EvaluationError?
        do { _ = try Evaluator.evaluate(weights: gpt2, checkpoint: "g.h5", data: source, settings: settings) } catch { failure = error }
        #expect(failure == .sequenceTooLong(checkpoint: "g.h5", seqLen: 9, maxPosition: 8))
        #expect(failure?.description.contains("--seq-len 8") == true)

        let llama = try Self.weights(.llama(hiddenSize: 8, numLayers: 1, numHeads: 2, numKVHeads: 1, intermediateSize: 16, maxPosition: 8))
        #expect(try Evaluator.evaluate(weights: llama, checkpoint: "l.h5", data: source, settings: settings).meanLoss.isFinite)
    }

    @Test func tokensAtOrAboveVocabAreRefusedBeforeRunning() throws {
        let (source, folder) = try Self.textSource("plain ascii then \u{00FF}\u{00FF} and more text to fill a window")
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = try Self.weights(.gpt2(vocabSize: 128, hiddenSize: 8, numLayers: 1, numHeads: 2, maxPosition: 8))
        var failure: EvaluationError?
        do { _ = try Evaluator.evaluate(weights: weights, checkpoint: "g.h5", data: source, settings: EvaluationSettings(batches: 1, batchSize: 1, seqLen: 4, seed: 0)) }
        catch { failure = error }
        // "ÿ" is C3 BF in UTF-8; the first byte is at offset 17.
        #expect(failure == .data(.tokenOutOfRange(path: source.path, tokenOffset: 17, byteOffset: 17, token: 0xC3, vocabSize: 128, compressed: false)))
    }
}
