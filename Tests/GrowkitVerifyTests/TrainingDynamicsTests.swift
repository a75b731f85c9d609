import Foundation
import GrowkitData
import GrowkitGrowth
import GrowkitState
import Testing
@testable import GrowkitVerify

/// ``TrainingDynamics/run(source:grown:data:settings:names:progress:)`` on the tiny fixtures and the
/// bundled corpus, a few steps each.
@Suite struct TrainingDynamicsTests {
    static let corpus = fixturesPath + "/jargon-file-4.4.7.txt.zst"
    static let settings = TrainingDynamicsSettings(steps: 4, batchSize: 4, seqLen: 32)

    @Test(arguments: ["tiny-gpt2.h5", "tiny-llama.h5"]) func identityGrowthDoesNotSpike(fixture: String) throws {
        let small = try fixtureState(fixture)
        let big = try grown(small, depth: "identity:layers=3", optimizer: .carry)
        var settings = Self.settings
        settings.scratch = true
        settings.keepStates = true
        var events: [TrainingDynamicsProgress] = []
        let outcome = try TrainingDynamics.run(source: small, grown: big, data: try TokenSource(path: Self.corpus),
                                               settings: settings) { events.append($0) }
        let r = outcome.result
        // Structure: three curves of N points, tokens k B T, steps continuing each state's own step.
        #expect(events.count == 12 && events.map(\.run) == Array(repeating: .source, count: 4)
            + Array(repeating: .grown, count: 4) + Array(repeating: .scratch, count: 4))
        for curve in [r.source, r.grown, r.scratch!] {
            #expect(curve.losses.count == 4 && curve.tokens == [128, 256, 384, 512])
            #expect(curve.losses.allSatisfy { $0.isFinite && $0 > 0 })
        }
        #expect(r.source.steps == (1...4).map { small.trainer.step + $0 })
        #expect(r.scratch!.steps == [1, 2, 3, 4] && r.scratch!.parameters == r.grown.parameters)
        #expect(r.grown.parameters > r.source.parameters)
        // Exact growth: the first batch scores the same function (float32 rounding only, 1e-4 nats).
        #expect(abs(r.lossAfterGrowth - r.lossAtGrowth) < 1e-4)
        #expect(r.lossAtGrowth == r.source.losses[0] && r.historyLoss == small.history.loss.last)
        #expect(!r.spiked && r.worstExcess < r.margin)
        #expect(r.spikeWindow == 4 && r.margin >= 0.05)
        // Final states kept: the trainer advanced by 4 updates of 4 x 32 tokens.
        let final = try #require(outcome.states[.grown])
        #expect(final.trainer.step == big.trainer.step + 4 && final.history.count == big.history.count + 4)
        #expect(final.parameters != big.parameters && final.problem() == nil)
        #expect(outcome.states[.scratch]?.trainer.step == 4)
    }

    /// A broken growth: the grown head (gpt2: the tied embedding) scaled by 10 after an exact
    /// growth. The logits are 10x larger, so the first loss jumps far beyond the margin.
    @Test(arguments: ["tiny-gpt2.h5", "tiny-llama.h5"]) func brokenGrowthSpikes(fixture: String) throws {
        let small = try fixtureState(fixture)
        var big = try grown(small, width: "duplicate:2")
        let head = big.config.tieEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight"
        big.parameters[head]!.data = big.parameters[head]!.data.map { $0 * 10 }
        let r = try TrainingDynamics.run(source: small, grown: big, data: try TokenSource(path: Self.corpus),
                                         settings: Self.settings).result
        #expect(r.spiked && r.lossAfterGrowth > r.lossAtGrowth + r.margin)
        #expect(r.scratch == nil && r.grownReachesScratchAt == nil)
        let json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(r)) as! [String: Any]
        #expect(json["spiked"] as? Bool == true && (json["grown"] as? [String: Any])?["losses"] is [Double])
    }

    @Test func stallDetection() {
        let flat = DynamicsCurve(run: .grown, parameters: 1, steps: [1, 2, 3], losses: [3, 3, 3], learningRates: [0, 0, 0],
                                 tokens: [1, 2, 3])
        let falling = DynamicsCurve(run: .grown, parameters: 1, steps: [1, 2, 3], losses: [3, 2.9, 2.8],
                                    learningRates: [0, 0, 0], tokens: [1, 2, 3])
        #expect(flat.stalled && !falling.stalled)
        #expect(TrainingDynamicsResult.margin(at: 1) == 0.05 && TrainingDynamicsResult.margin(at: 5) == 0.1)
    }

    @Test func badInputIsOneSentence() throws {
        let llama = try fixtureState("tiny-llama.h5"), gpt2 = try fixtureState("tiny-gpt2.h5")
        let data = try TokenSource(path: Self.corpus)
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        // Different families.
        let families = message { _ = try TrainingDynamics.run(source: gpt2, grown: try grown(llama, width: "duplicate:2"), data: data,
                                                               settings: Self.settings) }
        #expect(families.contains("gpt2") && families.contains("same family"))
        // Different vocabularies.
        var otherVocab = try grown(llama, width: "duplicate:2")
        otherVocab.config.vocabSize = 300
        #expect(message { _ = try TrainingDynamics.run(source: llama, grown: otherVocab, data: data, settings: Self.settings) }
            .contains("vocab_size"))
        // Not derived: the fixture's last record is not a growth; a growth of another size.
        let notGrown = message { _ = try TrainingDynamics.run(source: llama, grown: llama, data: data, settings: Self.settings) }
        #expect(notGrown.contains("not derived") && notGrown.contains("make-fixture"))
        let deeper = try grown(llama, depth: "identity:layers=3")
        let wrongSource = try grown(deeper, width: "duplicate:2")
        let sizes = message { _ = try TrainingDynamics.run(source: llama, grown: wrongSource, data: data, settings: Self.settings) }
        #expect(sizes.contains("num_layers"))
        // A data file shorter than one batch.
        let short = FileManager.default.temporaryDirectory.appendingPathComponent("growkit-dynamics-short-\(getpid()).txt")
        try Data("too short for a batch of 4 x 32 tokens".utf8).write(to: short)
        defer { try? FileManager.default.removeItem(at: short) }
        let tooShort = message { _ = try TrainingDynamics.run(source: llama, grown: deeper, data: try TokenSource(path: short.path),
                                                               settings: Self.settings) }
        #expect(tooShort.contains("one batch") && tooShort.hasSuffix("."))
    }
}
