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

    /// Every role maps to its own size: with hidden 40, query width 4 x 6 = 24, kv width
    /// 2 x 6 = 12, intermediate 56, vocab 256 and 48 positions, all distinct, a swapped
    /// role in the table would give a wrong shape here.
    @Test(arguments: [ModelConfig.Family.gpt2, .llama])
    func everyAxisHasTheSizeOfItsRole(family: ModelConfig.Family) {
        var config = family == .gpt2
            ? ModelConfig.gpt2(hiddenSize: 40, numLayers: 2, numHeads: 4, maxPosition: 48)
            : ModelConfig.llama(hiddenSize: 40, numLayers: 2, numHeads: 4, numKVHeads: 2, intermediateSize: 56, headDim: 6)
        config.headDim = 6
        config.numKVHeads = family == .gpt2 ? 4 : 2
        config.intermediateSize = 56
        let sizes: [AxisRole: Int] = [.vocab: 256, .position: 48, .hidden: 40, .queryHeads: 24,
                                      .keyValueHeads: family == .gpt2 ? 24 : 12, .intermediate: 56]
        let byName = Dictionary(uniqueKeysWithValues: config.parameters().map { ($0.name, $0) })
        let expected: [String: [Int]] = [
            "model.embed_tokens.weight": [256, 40],
            "model.layers.1.self_attn.q_proj.weight": [24, 40],
            "model.layers.1.self_attn.k_proj.weight": [sizes[.keyValueHeads]!, 40],
            "model.layers.1.self_attn.o_proj.weight": [40, 24],
            "model.layers.0.mlp.up_proj.weight": [56, 40],
            "model.layers.0.mlp.down_proj.weight": [40, 56],
            "model.norm.weight": [40],
        ]
        for (name, shape) in expected { #expect(byName[name]?.shape == shape, "\(name)") }
        if family == .gpt2 {
            #expect(byName["model.embed_positions.weight"]?.shape == [48, 40])
            #expect(byName["model.layers.0.self_attn.q_proj.bias"]?.shape == [24])
        }
        for spec in config.parameters() {
            #expect(spec.shape == spec.roles.map { sizes[$0]! }, "\(spec.name)")
        }
    }

    /// Kinds and modules come from the table: the names a user sees agree with them.
    @Test func kindsAndModules() {
        let config = ModelConfig.gpt2(hiddenSize: 32, numLayers: 1, numHeads: 4)
        let byName = Dictionary(uniqueKeysWithValues: config.parameters().map { ($0.name, $0) })
        #expect(byName["model.embed_tokens.weight"]?.kind == .tokenEmbedding)
        #expect(byName["model.embed_positions.weight"]?.kind == .positionEmbedding)
        #expect(byName["model.layers.0.input_layernorm.weight"]?.kind == .normWeight)
        #expect(byName["model.layers.0.input_layernorm.bias"]?.kind == .normBias)
        #expect(byName["model.layers.0.self_attn.k_proj.bias"]?.kind == .projectionBias)
        #expect(byName["model.layers.0.self_attn.k_proj.bias"]?.module == .key)
        #expect(byName["model.norm.bias"]?.module == .finalNorm)
        let residualWriters = config.parameters().filter { $0.module.writesResidualStream }.map(\.name)
        #expect(residualWriters == ["model.layers.0.self_attn.o_proj.weight", "model.layers.0.self_attn.o_proj.bias",
                                    "model.layers.0.mlp.down_proj.weight", "model.layers.0.mlp.down_proj.bias"])
        let untied = ModelConfig.llama(hiddenSize: 32, numLayers: 1, numHeads: 4, numKVHeads: 2, intermediateSize: 48)
        #expect(untied.parameters().last?.kind == .head)
        #expect(untied.parameters().filter { $0.kind == .projectionBias }.isEmpty)
    }

    @Test func absurdDimensionsAreRefused() {
        var config = ModelConfig.gpt2(hiddenSize: 64, numLayers: 2, numHeads: 4)
        config.vocabSize = 1_000_000_000_000
        #expect(throws: ConfigError.self) { try config.validate() }
        config = ModelConfig.llama(hiddenSize: 64, numLayers: 2, numHeads: 6, numKVHeads: 4, intermediateSize: 96)
        #expect(throws: ConfigError.self) { try config.validate() }
    }
}
