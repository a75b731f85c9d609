import GrowkitModel
import GrowkitCheckpoint
import GrowkitState
import Testing

@Suite("Bad weights, configs and inputs throw typed errors")
struct ModelErrorTests {
    let gpt2 = tinyConfigs[0].1
    let llama = tinyConfigs[2].1

    func expectError(_ expected: ModelError, mentioning words: [String], _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected \(expected), nothing was thrown")
        } catch let error as ModelError {
            #expect(error == expected)
            let text = error.description
            #expect(!text.contains("\n"))
            for word in words { #expect(text.contains(word), "\(text) does not mention \(word)") }
        } catch {
            Issue.record("expected ModelError, got \(error)")
        }
    }

    @Test func missingParameterIsNamed() {
        var params = randomParameters(llama, seed: 1)
        params["model.layers.1.mlp.gate_proj.weight"] = nil
        expectError(.missingParameter(name: "model.layers.1.mlp.gate_proj.weight"),
                    mentioning: ["model.layers.1.mlp.gate_proj.weight"]) {
            _ = try ModelWeights(config: llama, parameters: params)
        }
    }

    @Test func misShapedParameterIsNamed() {
        var params = randomParameters(gpt2, seed: 1)
        params["model.layers.0.self_attn.k_proj.weight"] = Tensor(zeros: [12, 11])
        expectError(.shapeMismatch(name: "model.layers.0.self_attn.k_proj.weight", expected: [12, 12], actual: [12, 11]),
                    mentioning: ["model.layers.0.self_attn.k_proj.weight", "[12, 11]", "[12, 12]"]) {
            _ = try ModelWeights(config: gpt2, parameters: params)
        }
    }

    @Test func unexpectedParameterIsNamed() {
        // gpt2 ties its head, so an lm_head is not part of the model.
        var params = randomParameters(gpt2, seed: 1)
        params["lm_head.weight"] = Tensor(zeros: [37, 12])
        expectError(.unexpectedParameter(name: "lm_head.weight"), mentioning: ["lm_head.weight"]) {
            _ = try ModelWeights(config: gpt2, parameters: params)
        }
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteWeightIsNamed(value: Float) {
        var params = randomParameters(llama, seed: 1)
        params["model.norm.weight"]!.data[5] = value
        do {
            _ = try ModelWeights(config: llama, parameters: params)
            Issue.record("expected nonFiniteWeight")
        } catch {
            guard case .nonFiniteWeight(let name, let index, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(name == "model.norm.weight" && index == 5)
            #expect(error.description.contains("model.norm.weight"))
        }
    }

    @Test func invalidConfigIsRejected() {
        var config = llama
        config.numKVHeads = 3  // 4 heads are not a multiple of 3 kv heads
        do {
            _ = try ModelWeights(config: config, parameters: [:])
            Issue.record("expected invalidConfig")
        } catch {
            guard case .invalidConfig = error else { Issue.record("unexpected \(error)"); return }
            #expect(error.description.contains("num_kv_heads"))
        }
        #expect(throws: ModelError.self) { try Activations(config: config, batchSize: 1, seqLen: 4) }
    }

    @Test func tokenOutOfRangeNamesThePosition() throws {
        let weights = try ModelWeights(config: gpt2, parameters: randomParameters(gpt2, seed: 1))
        var tokens = [Int32](repeating: 1, count: 2 * 5)
        tokens[7] = 37  // vocab is 37: batch row 1, position 2
        expectError(.tokenOutOfRange(what: "token", batch: 1, position: 2, token: 37, vocabSize: 37),
                    mentioning: ["position 2", "batch row 1", "37"]) {
            _ = try weights.forward(tokens: tokens, batchSize: 2, seqLen: 5)
        }
        tokens[7] = -1
        expectError(.tokenOutOfRange(what: "token", batch: 1, position: 2, token: -1, vocabSize: 37),
                    mentioning: ["position 2", "-1"]) {
            _ = try weights.forward(tokens: tokens, batchSize: 2, seqLen: 5)
        }
        tokens[7] = 1
        var targets = tokens
        targets[3] = 99
        expectError(.tokenOutOfRange(what: "target", batch: 0, position: 3, token: 99, vocabSize: 37),
                    mentioning: ["target", "position 3"]) {
            _ = try weights.forward(tokens: tokens, targets: targets, batchSize: 2, seqLen: 5)
        }
    }

    @Test func learnedPositionsLimitTheSequenceLength() throws {
        let weights = try ModelWeights(config: gpt2, parameters: randomParameters(gpt2, seed: 1))
        let T = gpt2.maxPosition + 1
        expectError(.sequenceTooLong(seqLen: T, maxPosition: gpt2.maxPosition), mentioning: ["\(T)", "max_position"]) {
            _ = try weights.forward(tokens: [Int32](repeating: 0, count: T), batchSize: 1, seqLen: T)
        }
    }

    @Test func allIgnoredTargetsHaveNoLoss() throws {
        let weights = try ModelWeights(config: llama, parameters: randomParameters(llama, seed: 1))
        expectError(.noValidTargets, mentioning: ["-100"]) {
            _ = try weights.forward(tokens: [1, 2, 3], targets: [-100, -100, -100], batchSize: 1, seqLen: 3)
        }
    }

    @Test func wrongInputCountsAndShapes() throws {
        let weights = try ModelWeights(config: llama, parameters: randomParameters(llama, seed: 1))
        expectError(.inputCountMismatch(what: "token", expected: 6, actual: 5), mentioning: ["token", "6", "5"]) {
            _ = try weights.forward(tokens: [1, 2, 3, 4, 5], batchSize: 2, seqLen: 3)
        }
        expectError(.inputCountMismatch(what: "target", expected: 3, actual: 2), mentioning: ["target"]) {
            _ = try weights.forward(tokens: [1, 2, 3], targets: [1, 2], batchSize: 1, seqLen: 3)
        }
        expectError(.invalidBatchShape(batchSize: 0, seqLen: 3), mentioning: ["batch size 0"]) {
            _ = try weights.forward(tokens: [], batchSize: 0, seqLen: 3)
        }
        let other = try Activations(config: gpt2, batchSize: 1, seqLen: 3)
        #expect(throws: ModelError.self) { try weights.forward(tokens: [1, 2, 3], activations: other) }
    }

    @Test func absurdBatchIsRefusedBeforeAllocating() {
        #expect(throws: ModelError.self) { try Activations(config: llama, batchSize: 1 << 40, seqLen: 1 << 30) }
        #expect(throws: ModelError.self) { try Activations(config: llama, batchSize: 1 << 20, seqLen: 1 << 12) }
    }
}

@Suite("Token ids of other integer types")
struct TokenTypeTests {
    @Test func intTokensGiveTheSameResultAndHugeIdsAreRefused() throws {
        let config = tinyConfigs[2].1
        let weights = try ModelWeights(config: config, parameters: randomParameters(config, seed: 8))
        let tokens = [3, 1, 4, 1, 5, 9]
        let a = try weights.forward(tokens: tokens, targets: [1, 4, 1, 5, 9, -100], batchSize: 2, seqLen: 3)
        let b = try weights.forward(tokens: tokens.map(Int32.init), targets: [1, 4, 1, 5, 9, -100] as [Int32],
                                    batchSize: 2, seqLen: 3)
        #expect(a.logits == b.logits && a.loss == b.loss)
        #expect(throws: ModelError.tokenOutOfRange(what: "token", batch: 1, position: 1, token: 1 << 40,
                                                   vocabSize: config.vocabSize)) {
            try weights.forward(tokens: [1, 2, 3, 4, 1 << 40, 6], batchSize: 2, seqLen: 3)
        }
    }
}
