import Testing
@testable import GrowkitState

@Suite struct ParameterTableTests {
    /// GPT-2 small (124M): 124,439,808 parameters with the tied head, as
    /// Hugging Face's `GPT2LMHeadModel.num_parameters()` reports.
    @Test func gpt2SmallParameterCount() {
        let config = ModelConfig.gpt2(vocabSize: 50257, hiddenSize: 768, numLayers: 12, numHeads: 12, maxPosition: 1024)
        #expect(config.parameterCount == 124_439_808)
    }

    /// Llama-2-7B: 6,738,415,616 parameters (Meta's model card count).
    @Test func llama7BParameterCount() {
        let config = ModelConfig.llama(vocabSize: 32000, hiddenSize: 4096, numLayers: 32, numHeads: 32,
                                       numKVHeads: 32, intermediateSize: 11008, maxPosition: 4096)
        #expect(config.parameterCount == 6_738_415_616)
    }

    /// Kaplan et al. 2020 count GPT-2 small as 85M non-embedding parameters:
    /// 12 layers x (12 d^2 + 13 d) = 85,054,464 with d = 768, plus the final norm (2 d).
    @Test func gpt2SmallNonEmbeddingCount() {
        let config = ModelConfig.gpt2(vocabSize: 50257, hiddenSize: 768, numLayers: 12, numHeads: 12, maxPosition: 1024)
        #expect(config.nonEmbeddingParameterCount == 12 * (12 * 768 * 768 + 13 * 768) + 2 * 768)
    }

    @Test func rolesGiveShapes() throws {
        let config = ModelConfig.llama(hiddenSize: 64, numLayers: 2, numHeads: 4, numKVHeads: 2, intermediateSize: 96)
        let byName = Dictionary(uniqueKeysWithValues: config.parameters().map { ($0.name, $0) })
        #expect(byName["model.layers.1.self_attn.k_proj.weight"]?.shape == [32, 64])
        #expect(byName["model.layers.0.mlp.down_proj.weight"]?.shape == [64, 96])
        #expect(byName["lm_head.weight"]?.shape == [256, 64])
        #expect(byName["model.layers.0.self_attn.q_proj.bias"] == nil)
        #expect(byName["model.norm.bias"] == nil)
    }

    @Test func absurdDimensionsAreRefused() {
        var config = ModelConfig.gpt2(hiddenSize: 64, numLayers: 2, numHeads: 4)
        config.vocabSize = 1_000_000_000_000
        #expect(throws: StateError.self) { try config.validate() }
        config = ModelConfig.llama(hiddenSize: 64, numLayers: 2, numHeads: 6, numKVHeads: 4, intermediateSize: 96)
        #expect(throws: StateError.self) { try config.validate() }
    }
}
