import Foundation
import GrowkitStorage
import Testing
@testable import GrowkitCheckpoint
import GrowkitState

/// fixtures/hf-folders: written by transformers' save_pretrained (tools/make_hf_folder_fixture.py)
/// from the weights of fixtures/hf/*.h5 (written by h5py): two independent writers of the same numbers.
let hfFolderFixtures = fixtures + "/hf-folders"

func parameters(ofCheckpoint path: String) throws -> [String: Tensor] { try CheckpointReader(path: path).parameters() }

func parameters(of model: HuggingFaceModel) throws -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    try model.forEachParameter { spec, tensor in out[spec.name] = tensor }
    return out
}

func bits(_ tensors: [String: Tensor]) -> [String: [UInt32]] { tensors.mapValues { $0.data.map(\.bitPattern) } }

@Suite("Hugging Face folders <-> growkit states")
struct HuggingFaceConversionTests {
    @Test func gpt2FolderFromTransformersMapsBitForBitToTheH5pyState() throws {
        let model = try HuggingFaceModel(path: hfFolderFixtures + "/gpt2_tied")
        let reference = try CheckpointReader(path: fixtures + "/hf/gpt2_tied.h5")
        #expect(model.config == reference.config)
        #expect(model.prefix == "transformer." && !model.storesTiedHead)
        #expect(bits(try parameters(of: model)) == bits(try reference.parameters()))
    }

    @Test func shardedBF16LlamaFromTransformersIsTheRoundedState() throws {
        let model = try HuggingFaceModel(path: hfFolderFixtures + "/llama_gqa_bf16_sharded")
        #expect(model.weights.files.count == 3)
        let reference = try CheckpointReader(path: fixtures + "/hf/llama_gqa.h5")
        #expect(model.config == reference.config)
        let ours = try parameters(of: model)
        let rounded = try reference.parameters().mapValues { t in t.data.map { BFloat16.float(fromBits: BFloat16.bits(from: $0)).bitPattern } }
        #expect(bits(ours) == rounded)
    }

    @Test func convertToStateWritesAWeightsOnlyStateWithProvenance() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let out = folder.file("gpt2.h5")
        try HuggingFaceConversion.toCheckpoint(input: hfFolderFixtures + "/gpt2_tied", output: out, toolVersion: "test")
        let reader = try CheckpointReader(path: out)
        #expect(bits(try reader.parameters()) == bits(try parameters(ofCheckpoint: fixtures + "/hf/gpt2_tied.h5")))
        #expect(reader.isWeightsOnly)
        #expect(reader.tensors.allSatisfy { $0.role == .parameter } && reader.tensors.count == reader.specs.count)
        #expect(throws: StateError.self) { try reader.moments(named: "model.layers.0.self_attn.q_proj.weight") }
        // readAll gives fresh moments: zero, step 0, matrices decay and vectors do not.
        let state = try reader.readAll()
        let moments = try #require(state.optimizerState["model.layers.0.self_attn.q_proj.weight"])
        #expect(moments.step == 0 && moments.expAvg.data.allSatisfy { $0 == 0 } && moments.expAvgSq.data.allSatisfy { $0 == 0 })
        #expect(moments.applyWeightDecay)
        #expect(state.optimizerState["model.norm.weight"]?.applyWeightDecay == false)
        let record = try #require(reader.provenance.last)
        #expect(record.operatorName == "convert" && record.source == hfFolderFixtures + "/gpt2_tied")
        #expect(record.sourceSHA256?.count == 64)
        // The checksum is of the model's files: it changes with their bytes, not with the time.
        let again = try HuggingFaceConversion.checksum(HuggingFaceModel(path: hfFolderFixtures + "/gpt2_tied"))
        #expect(record.sourceSHA256 == again)
        #expect(folder.contents() == ["gpt2.h5"])
    }

    @Test func stateToFolderMatchesWhatTransformersWrote() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let out = folder.file("gpt2-hf")
        try HuggingFaceConversion.toHuggingFace(input: fixtures + "/hf/gpt2_tied.h5", output: out)
        #expect(folder.contents() == ["gpt2-hf"])
        let ours = try SafeTensorsFile(path: out + "/model.safetensors")
        let theirs = try SafeTensorsFile(path: hfFolderFixtures + "/gpt2_tied/model.safetensors")
        #expect(Set(ours.entries.map(\.name)) == Set(theirs.entries.map(\.name)))
        for entry in theirs.entries {
            let mine = try #require(ours.entry(named: entry.name))
            #expect(mine.shape == entry.shape && mine.dtype == .f32)
            #expect(try ours.readFloats(mine).map(\.bitPattern) == theirs.readFloats(entry).map(\.bitPattern), "\(entry.name)")
        }
        // Read back, both the config and the weights are the state's.
        let back = try HuggingFaceModel(path: out)
        #expect(back.config == (try CheckpointReader(path: fixtures + "/hf/gpt2_tied.h5").config))
    }

    @Test(arguments: ["gpt2_tied", "llama_gqa", "llama_mqa", "llama_head_dim"])
    func roundTripThroughShardedFoldersIsBitIdentical(case name: String) throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let hf = folder.file("hf")
        try HuggingFaceConversion.toHuggingFace(
            input: fixtures + "/hf/\(name).h5", output: hf, options: .init(dtype: .f32, maxShardBytes: 40_000))
        let files = try FileManager.default.contentsOfDirectory(atPath: hf)
        #expect(files.contains(SafeTensorsShards.indexFileName) && files.filter { $0.hasSuffix(".safetensors") }.count > 2)
        let back = folder.file("back.h5")
        try HuggingFaceConversion.toCheckpoint(input: hf, output: back, toolVersion: "test")
        let original = try CheckpointReader(path: fixtures + "/hf/\(name).h5")
        let converted = try CheckpointReader(path: back)
        #expect(converted.config == original.config)
        #expect(bits(try converted.parameters()) == bits(try original.parameters()))
    }

    @Test func f16OutputReadsBackAsTheRoundedValues() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let hf = folder.file("hf16")
        try HuggingFaceConversion.toHuggingFace(input: fixtures + "/hf/llama_mqa.h5", output: hf, options: .init(dtype: .f16))
        let config = try String(contentsOfFile: hf + "/config.json", encoding: .utf8)
        #expect(config.contains("\"torch_dtype\": \"float16\"") && config.contains("\"rope_theta\": 500"))
        let model = try HuggingFaceModel(path: hf)
        #expect(model.weights.files[0].entries.allSatisfy { $0.dtype == .f16 })
        let rounded = try parameters(ofCheckpoint: fixtures + "/hf/llama_mqa.h5").mapValues { t in
            t.data.map { Half.float(fromBits: Half.bits(from: $0)).bitPattern }
        }
        #expect(bits(try parameters(of: model)) == rounded)
    }
}

@Suite("Hugging Face bad input: one sentence naming file and tensor, no output left")
struct HuggingFaceBadInputTests {
    /// A copy of the gpt2 fixture folder whose model.safetensors is replaced by `tensors` (name -> shape),
    /// written with the Swift writer, values from the real file where the name exists.
    func folder(with edit: ([SafeTensorsWriter.Declaration]) -> [SafeTensorsWriter.Declaration],
                config: String? = nil) throws -> ScratchFolder {
        let scratch = try ScratchFolder()
        let source = hfFolderFixtures + "/gpt2_tied"
        try FileManager.default.createDirectory(atPath: scratch.file("in"), withIntermediateDirectories: true)
        if let config {
            try config.write(toFile: scratch.file("in/config.json"), atomically: false, encoding: .utf8)
        } else {
            try FileManager.default.copyItem(atPath: source + "/config.json", toPath: scratch.file("in/config.json"))
        }
        let original = try SafeTensorsFile(path: source + "/model.safetensors")
        let decls = edit(original.entries.map { .init(name: $0.name, dtype: $0.dtype, shape: $0.shape) })
        let writer = try SafeTensorsWriter(destination: scratch.file("in/model.safetensors"), tensors: decls)
        for d in decls {
            if let e = original.entry(named: d.name), e.shape == d.shape {
                try writer.write(try original.readFloats(e))
            } else {
                try writer.write([Float](repeating: 0.5, count: d.shape.reduce(1, *)))
            }
        }
        try writer.commit()
        return scratch
    }

    func expectFailure(_ scratch: ScratchFolder, mentioning needles: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try HuggingFaceConversion.toCheckpoint(input: scratch.file("in"), output: scratch.file("out.h5"), toolVersion: "test")
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch {
            let text = error.description
            #expect(!text.contains("\n") && text.hasSuffix("."), sourceLocation: sourceLocation)
            for needle in needles { #expect(text.contains(needle), "\(text)", sourceLocation: sourceLocation) }
        }
        #expect(scratch.contents() == ["in"], "output left: \(scratch.contents())", sourceLocation: sourceLocation)
    }

    @Test func unexpectedTensorIsNamed() throws {
        let scratch = try folder { $0 + [.init(name: "transformer.h.0.attn.rotary.weight", dtype: .f32, shape: [4])] }
        defer { scratch.remove() }
        expectFailure(scratch, mentioning: ["model.safetensors", "transformer.h.0.attn.rotary.weight", "GPT2LMHeadModel"])
    }

    @Test func missingTensorIsNamed() throws {
        let scratch = try folder { $0.filter { $0.name != "transformer.h.1.mlp.c_fc.bias" } }
        defer { scratch.remove() }
        expectFailure(scratch, mentioning: ["model.safetensors", "transformer.h.1.mlp.c_fc.bias", "missing"])
    }

    @Test func wrongShapeIsNamed() throws {
        let scratch = try folder { $0.map { $0.name == "transformer.wpe.weight" ? .init(name: $0.name, dtype: .f32, shape: [16, 64]) : $0 } }
        defer { scratch.remove() }
        expectFailure(scratch, mentioning: ["transformer.wpe.weight", "[16, 64]", "[32, 64]"])
    }

    @Test func untiedHeadUnderTiedConfigIsRefused() throws {
        let scratch = try folder { $0 + [.init(name: "lm_head.weight", dtype: .f32, shape: [256, 64])] }
        defer { scratch.remove() }
        expectFailure(scratch, mentioning: ["lm_head.weight", "tie_word_embeddings"])
    }

    @Test func unsupportedArchitectureNamesItselfAndTheSupportedOnes() throws {
        let scratch = try folder(with: { $0 }, config: #"{"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 64}"#)
        defer { scratch.remove() }
        expectFailure(scratch, mentioning: ["config.json", "MistralForCausalLM", "GPT2LMHeadModel", "LlamaForCausalLM"])
    }

    @Test func unsupportedRopeScalingIsRefused() throws {
        let config = try String(contentsOfFile: hfFolderFixtures + "/llama_gqa_bf16_sharded/config.json", encoding: .utf8)
            .replacingOccurrences(of: "\"rope_type\": \"default\"", with: "\"rope_type\": \"yarn\"")
        let json = try StrictJSON.parse(Array(config.utf8))
        #expect(throws: HuggingFaceError.self) { try HuggingFaceConfig.map(json, file: "config.json") }
    }

    @Test func indexNamingAMissingShardIsRefusedWithoutOutput() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try FileManager.default.copyItem(atPath: hfFolderFixtures + "/llama_gqa_bf16_sharded", toPath: scratch.file("in"))
        try FileManager.default.removeItem(atPath: scratch.file("in/model-00003-of-00003.safetensors"))
        expectFailure(scratch, mentioning: ["model.safetensors.index.json", "model-00003-of-00003.safetensors"])
    }

    @Test func existingOutputFolderIsNotTouched() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.file("out"), withIntermediateDirectories: true)
        #expect(throws: HuggingFaceError.self) {
            try HuggingFaceConversion.toHuggingFace(input: fixtures + "/hf/gpt2_tied.h5", output: scratch.file("out"))
        }
        #expect(scratch.contents() == ["out"])
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch.file("out"))) ?? ["?"]).isEmpty)
    }

    @Test func aStateTheArchitectureCannotExpressLeavesNoFolder() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        var config = ModelConfig.gpt2(hiddenSize: 32, numLayers: 1, numHeads: 4)
        config.norm = .rmsnorm
        #expect(throws: HuggingFaceError.self) {
            try HuggingFaceFolderWriter.write(config: config, to: scratch.file("out")) { spec in Tensor(zeros: spec.shape) }
        }
        #expect(scratch.contents().isEmpty)
    }
}

@Suite("Hugging Face reads with a prefetching thread")
struct HuggingFacePrefetchTests {
    @Test func prefetchingYieldsTheSameParametersInTheSameOrder() throws {
        let model = try HuggingFaceModel(path: hfFolderFixtures + "/gpt2_tied")
        var plain: [(String, [UInt32])] = [], prefetched: [(String, [UInt32])] = []
        try model.forEachParameter { spec, t in plain.append((spec.name, t.data.map(\.bitPattern))) }
        try model.forEachParameterPrefetching(depth: 1) { spec, t in prefetched.append((spec.name, t.data.map(\.bitPattern))) }
        #expect(plain.map(\.0) == prefetched.map(\.0) && plain.map(\.1) == prefetched.map(\.1))
    }

    /// The reader refills arrays the body has finished with; one the body kept must not change.
    @Test func tensorsTheBodyKeepsAreNeverOverwrittenByLaterReads() throws {
        for fixture in ["gpt2_tied", "llama_gqa_bf16_sharded"] {
            let model = try HuggingFaceModel(path: hfFolderFixtures + "/" + fixture)
            var plain: [[UInt32]] = [], kept: [Tensor] = []
            try model.forEachParameter { _, t in plain.append(t.data.map(\.bitPattern)) }
            try model.forEachParameterPrefetching(depth: 1) { _, t in kept.append(t) }
            #expect(kept.map { $0.data.map(\.bitPattern) } == plain, "\(fixture)")
        }
    }

    @Test func aFileTruncatedAfterOpeningIsAnErrorNotAHang() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try FileManager.default.copyItem(atPath: hfFolderFixtures + "/gpt2_tied", toPath: scratch.file("in"))
        let model = try HuggingFaceModel(path: scratch.file("in"))
        #expect(truncate(scratch.file("in/model.safetensors"), 200_000) == 0)
        var seen = 0
        do {
            try model.forEachParameterPrefetching { _, _ in seen += 1 }
            Issue.record("no error")
        } catch {
            #expect(error.description.contains("model.safetensors") && error.description.contains("cannot read tensor"))
        }
        #expect(seen < model.specs.count)
    }

    @Test func anErrorInTheBodyStopsTheProducer() throws {
        let model = try HuggingFaceModel(path: hfFolderFixtures + "/gpt2_tied")
        var seen = 0
        #expect(throws: HuggingFaceError.self) {
            try model.forEachParameterPrefetching { (spec, _) throws(HuggingFaceError) in
                seen += 1
                if seen == 3 { throw .missingTensor(file: "body", tensor: spec.name) }
            }
        }
        #expect(seen == 3)
    }
}

@Suite("Hugging Face round trips of head tying both ways")
struct HuggingFaceTyingTests {
    @Test(arguments: [false, true])
    func untiedGPT2AndTiedLlamaRoundTrip(tiedLlama: Bool) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        var config = tiedLlama ? RandomState.tinyConfig(.llama) : RandomState.tinyConfig(.gpt2)
        config.tieEmbeddings = tiedLlama
        let state = RandomState.state(config: config, seed: 11)
        try CheckpointWriter.write(state, to: scratch.file("in.h5"))
        try HuggingFaceConversion.toHuggingFace(input: scratch.file("in.h5"), output: scratch.file("hf"))
        let file = try SafeTensorsFile(path: scratch.file("hf/model.safetensors"))
        // save_pretrained's convention: lm_head.weight stored exactly when untied.
        #expect((file.entry(named: "lm_head.weight") != nil) == !config.tieEmbeddings)
        try HuggingFaceConversion.toCheckpoint(input: scratch.file("hf"), output: scratch.file("back.h5"), toolVersion: "test")
        let back = try CheckpointReader(path: scratch.file("back.h5"))
        #expect(back.config == config)
        #expect(bits(try back.parameters()) == bits(state.parameters))
    }
}

@Suite struct StrictJSONTests {
    @Test func parsesEscapesSurrogatesAndExactIntegers() throws {
        let json = try StrictJSON.parse(Array(#"{"a\u00e9\ud83d\ude00": [9007199254740993, -1.5e3, true, null, "x\"y"]}"#.utf8))
        guard case .object(let members) = json, case .array(let items) = members[0].value else {
            Issue.record("not an object of an array")
            return
        }
        #expect(members[0].key == "a\u{e9}\u{1F600}")
        #expect(items == [.integer(9_007_199_254_740_993), .number(-1500), .bool(true), .null, .string("x\"y")])
        #expect(try StrictJSON.parse(Array(json.serialized.utf8)) == json)
    }

    @Test func refusesWhatSafetensorsRefuses() {
        for bad in [#"{"a": 1, "a": 2}"#, #"{"a": 1} x"#, "[" + String(repeating: "[", count: 70) + "]", #"{"a": "\ud83d"}"#, "{\"a\": \"\u{1}\"}", "01", ""] {
            #expect(throws: StrictJSON.ParseError.self, "\(bad)") { try StrictJSON.parse(Array(bad.utf8)) }
        }
    }
}
