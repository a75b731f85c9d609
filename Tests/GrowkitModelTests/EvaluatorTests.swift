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
