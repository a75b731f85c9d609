import GrowkitModel
import GrowkitState
import Testing
@testable import GrowkitVerify

/// ``FunctionPreservation/check`` on states built in memory: what `grow --verify` calls.
@Suite struct FunctionPreservationTests {
    static func weights(_ state: TrainingState) throws -> ModelWeights {
        try ModelWeights(config: state.config, parameters: state.parameters)
    }

    static let families: [ModelConfig.Family] = [.gpt2, .llama]

    @Test(arguments: families) func identicalModelsPreserveExactly(family: ModelConfig.Family) throws {
        let state = RandomState.state(config: RandomState.tinyConfig(family), seed: 11)
        let batches = try FunctionPreservation.randomBatches(for: state.config)
        let w = try Self.weights(state)
        let result = try FunctionPreservation.check(source: w, grown: w, batches: batches, claimedExact: true)
        #expect(result.maxLogitDifference == 0 && result.lossDifference == 0)
        #expect(result.verdict == .preserved && result.passed)
        #expect(result.batches == 2 && result.batchSize == 4 && result.seqLen == 64 && result.tokens == 512)
        // A random model on uniform random tokens sits near ln 256 = 5.545.
        #expect(abs(result.sourceLoss - 5.545) < 0.1)
        #expect(result.sourceBatchLosses.count == 2)
        // Batches of different shapes in one call (activations are re-made per shape).
        let mixed = batches + (try FunctionPreservation.randomBatches(vocabSize: 256, count: 1, batchSize: 1, seqLen: 8, seed: 4))
        let both = try FunctionPreservation.check(source: w, grown: w, batches: mixed, claimedExact: true)
        #expect(both.tokens == 520 && both.batches == 3 && both.maxLogitDifference == 0)
    }

    /// One identity block appended (zero o_proj and down_proj): the logits must agree within 1e-4,
    /// and the control (the same block with its residual outputs copied, not zeroed) must not.
    @Test(arguments: families) func depthIdentityGrowthPreserves(family: ModelConfig.Family) throws {
        let small = RandomState.state(config: RandomState.tinyConfig(family), seed: 3)
        let grown = GrownStates.appendingIdentityLayer(small)
        #expect(grown.problem() == nil)
        #expect(grown.config.numLayers == small.config.numLayers + 1)
        let batches = try FunctionPreservation.randomBatches(for: small.config, seed: 5)
        let result = try FunctionPreservation.check(
            sourceConfig: small.config, sourceParameters: small.parameters,
            grownConfig: grown.config, grownParameters: grown.parameters, batches: batches, claimedExact: true)
        #expect(result.maxLogitDifference <= 1e-4)
        #expect(result.lossDifference <= 1e-5 * max(1, result.sourceLoss))
        #expect(result.verdict == .preserved)

        let control = GrownStates.appendingIdentityLayer(small, zeroResidualOutputs: false)
        let changed = try FunctionPreservation.check(
            sourceConfig: small.config, sourceParameters: small.parameters,
            grownConfig: control.config, grownParameters: control.parameters, batches: batches, claimedExact: true)
        #expect(changed.maxLogitDifference > 1e-3)
        #expect(changed.verdict == .notPreserved && !changed.passed)
    }

    /// 1e-2 on one entry of the head (gpt2: the tied embedding; llama: lm_head) moves that
    /// token's logit by 1e-2 times a normalised hidden entry, far beyond 1e-4.
    @Test(arguments: families) func perturbedWeightFailsOnlyWhenClaimedExact(family: ModelConfig.Family) throws {
        let small = RandomState.state(config: RandomState.tinyConfig(family), seed: 7)
        let head = family == .gpt2 ? "model.embed_tokens.weight" : "lm_head.weight"
        let hidden = small.config.hiddenSize
        let grown = GrownStates.perturbing(small, head, at: 17 * hidden + 3, by: 1e-2)
        let batches = try FunctionPreservation.randomBatches(for: small.config)
        let (a, b) = (try Self.weights(small), try Self.weights(grown))

        let claimed = try FunctionPreservation.check(source: a, grown: b, batches: batches, claimedExact: true)
        #expect(claimed.maxLogitDifference > 1e-4 && claimed.maxLogitDifference < 1e-1)
        // Only token 17's logit (and, for the tied gpt2 head, its input embedding) changed.
        if family == .llama { #expect(claimed.maxLogitLocation.token == 17) }
        #expect(claimed.verdict == .notPreserved && !claimed.passed)
        let exceeded = try #require(claimed.exceeded)
        #expect(exceeded.contains("max |dlogit|") && exceeded.contains("exceeds the tolerance 1.00e-04"))

        let byDesign = try FunctionPreservation.check(source: a, grown: b, batches: batches, claimedExact: false)
        #expect(byDesign.verdict == .changedByDesign && byDesign.passed)
        #expect(byDesign.maxLogitDifference == claimed.maxLogitDifference)

        // A looser tolerance admits it.
        let loose = try FunctionPreservation.check(source: a, grown: b, batches: batches, claimedExact: true,
                                                   tolerance: FunctionPreservationTolerance(logits: 1, loss: 1))
        #expect(loose.verdict == .preserved)
    }

    @Test func differentVocabulariesAndFamiliesAreRefused() throws {
        let small = RandomState.state(config: RandomState.tinyConfig(.llama), seed: 1)
        var wideConfig = small.config
        wideConfig.vocabSize = 512
        let wide = RandomState.state(config: wideConfig, seed: 1)
        let batches = try FunctionPreservation.randomBatches(for: small.config)
        let names = ModelNames(source: "small.h5", grown: "wide.h5")
        #expect(throws: VerifyError.differentVocabularies(source: "small.h5", sourceVocab: 256, grown: "wide.h5", grownVocab: 512)) {
            try FunctionPreservation.check(source: try Self.weights(small), grown: try Self.weights(wide), batches: batches,
                                           claimedExact: true, names: names)
        }
        let gpt2 = try Self.weights(RandomState.state(config: RandomState.tinyConfig(.gpt2), seed: 1))
        let llama = try Self.weights(small)
        do throws(VerifyError) {
            _ = try FunctionPreservation.check(source: gpt2, grown: llama, batches: batches,
                                               claimedExact: true, names: names)
            Issue.record("expected an error")
        } catch {
            #expect(error == .differentFamilies(source: "small.h5", sourceFamily: "gpt2", grown: "wide.h5", grownFamily: "llama"))
            #expect(error.description.hasSuffix("same family."))
        }
    }

    @Test func sequenceBeyondLearnedPositionsIsRefusedNamingTheModel() throws {
        let small = RandomState.state(config: RandomState.tinyConfig(.gpt2), seed: 1)  // max_position 64
        let batches = try FunctionPreservation.randomBatches(vocabSize: 256, count: 1, batchSize: 1, seqLen: 65)
        #expect(throws: VerifyError.sequenceTooLong(model: "g.h5", seqLen: 65, maxPosition: 64)) {
            try FunctionPreservation.check(source: try Self.weights(small), grown: try Self.weights(small), batches: batches,
                                           claimedExact: true, names: ModelNames(source: "g.h5", grown: "h.h5"))
        }
        // RoPE models have no position table: any length runs.
        let llama = RandomState.state(config: RandomState.tinyConfig(.llama), seed: 1)
        let w = try Self.weights(llama)
        #expect(try FunctionPreservation.check(source: w, grown: w, batches: batches, claimedExact: true).passed)
    }

    @Test func badInputsAreErrorsNotTraps() throws {
        let state = RandomState.state(config: RandomState.tinyConfig(.llama), seed: 1)
        let w = try Self.weights(state)
        #expect(throws: VerifyError.invalidBatch(problem: "no batch to score; pass at least one")) {
            try FunctionPreservation.check(source: w, grown: w, batches: [], claimedExact: true)
        }
        #expect(throws: VerifyError.self) {
            try VerificationBatch(batchSize: 2, seqLen: 3, inputs: [1, 2, 3], targets: [1, 2, 3])
        }
        #expect(throws: VerifyError.invalidTolerance(name: "the logit tolerance", value: -1)) {
            try FunctionPreservation.check(source: w, grown: w, batches: try FunctionPreservation.randomBatches(for: state.config),
                                           claimedExact: true, tolerance: FunctionPreservationTolerance(logits: -1))
        }
        // A token id outside the vocabulary is the model's sentence, naming the model.
        let outside = try VerificationBatch(batchSize: 1, seqLen: 2, inputs: [1, 300], targets: [2, 3])
        do throws(VerifyError) {
            _ = try FunctionPreservation.check(source: w, grown: w, batches: [outside], claimedExact: true,
                                               names: ModelNames(source: "s.h5", grown: "g.h5"))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix("s.h5: token id 300"))
        }
    }

    @Test func randomBatchesAreSeededWindows() throws {
        let a = try FunctionPreservation.randomBatches(vocabSize: 50, count: 3, batchSize: 2, seqLen: 5, seed: 9)
        let b = try FunctionPreservation.randomBatches(vocabSize: 50, count: 3, batchSize: 2, seqLen: 5, seed: 9)
        let c = try FunctionPreservation.randomBatches(vocabSize: 50, count: 3, batchSize: 2, seqLen: 5, seed: 10)
        #expect(a == b && a != c)
        #expect(a.count == 3)
        for batch in a {
            #expect(batch.inputs.count == 10 && batch.targets.count == 10)
            #expect(batch.inputs.allSatisfy { $0 >= 0 && $0 < 50 } && batch.targets.allSatisfy { $0 >= 0 && $0 < 50 })
            // Targets are the inputs shifted by one within each row.
            for row in 0..<2 {
                #expect(Array(batch.inputs[(row * 5 + 1)..<(row * 5 + 5)]) == Array(batch.targets[(row * 5)..<(row * 5 + 4)]))
            }
        }
        #expect(FunctionPreservation.defaultSeqLen(RandomState.tinyConfig(.gpt2)) == 64)
        var short = RandomState.tinyConfig(.gpt2)
        short.maxPosition = 16
        #expect(FunctionPreservation.defaultSeqLen(RandomState.tinyConfig(.llama), short) == 16)
    }

    /// The bounds are inclusive (`<=`), and the loss bound scales with max(1, L).
    @Test func verdictAtTheBounds() {
        func result(dlogit: Double, loss: Double, grownLoss: Double, claimed: Bool = true) -> FunctionPreservationResult {
            FunctionPreservationResult(
                claimedExact: claimed, tolerance: .float32, batches: 1, batchSize: 1, seqLen: 1, tokens: 1,
                sourceLoss: loss, grownLoss: grownLoss, maxLogitDifference: dlogit,
                maxLogitLocation: LogitLocation(batch: 0, row: 0, position: 0, token: 0),
                sourceBatchLosses: [loss], grownBatchLosses: [grownLoss])
        }
        #expect(result(dlogit: 1e-4, loss: 0.5, grownLoss: 0.5).verdict == .preserved)
        #expect(result(dlogit: 1.0001e-4, loss: 0.5, grownLoss: 0.5).verdict == .notPreserved)
        // Loss 0.5 < 1: bound 1e-5 absolute. Loss 4: bound 4e-5.
        #expect(result(dlogit: 0, loss: 0.5, grownLoss: 0.5 + 2e-5).verdict == .notPreserved)
        #expect(result(dlogit: 0, loss: 4, grownLoss: 4 + 2e-5).verdict == .preserved)
        #expect(result(dlogit: 0, loss: 4, grownLoss: 4 + 6e-5).verdict == .notPreserved)
        #expect(result(dlogit: 1, loss: 4, grownLoss: 5, claimed: false).verdict == .changedByDesign)
        #expect(result(dlogit: 0, loss: 4, grownLoss: 4, claimed: false).verdict == .preservedUnclaimed)
    }
}
