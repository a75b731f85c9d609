import Foundation
import GrowkitStorage
import Testing

/// fixtures/hf-folders/ (written by tools/make_hf_folder_fixture.py with torch and safetensors).
let hfFolders = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures/hf-folders").path

/// Writes `8-byte length + header + data` by hand: the bad files the reader must refuse.
func craftSafeTensors(_ path: String, header: [UInt8], data: [UInt8] = [], declaredLength: UInt64? = nil) throws {
    var length = declaredLength ?? UInt64(header.count)
    var bytes: [UInt8] = []
    for _ in 0..<8 { bytes.append(UInt8(length & 0xFF)); length >>= 8 }
    try Data(bytes + header + data).write(to: URL(fileURLWithPath: path))
}

func craftSafeTensors(_ path: String, json: String, data: [UInt8]) throws {
    try craftSafeTensors(path, header: Array(json.utf8), data: data)
}

@Suite("safetensors against files written by the safetensors package")
struct SafeTensorsFixtureTests {
    @Test func f16AndBF16DecodeAsTorchWidensThem() throws {
        let file = try SafeTensorsFile(path: hfFolders + "/dtypes.safetensors")
        #expect(Set(file.entries.map(\.name)) == ["x", "x_f16", "x_bf16", "x_f16_as_f32", "x_bf16_as_f32"])
        #expect(file.metadata["format"] == "pt")
        #expect(file.entry(named: "x_f16")?.dtype == .f16 && file.entry(named: "x_bf16")?.dtype == .bf16)
        #expect(file.entry(named: "x")?.shape == [4, 5])
        for (half, wide) in [("x_f16", "x_f16_as_f32"), ("x_bf16", "x_bf16_as_f32")] {
            let decoded = try file.readFloats(file.entry(named: half)!)
            let reference = try file.readFloats(file.entry(named: wide)!)
            #expect(decoded.map(\.bitPattern) == reference.map(\.bitPattern), "\(half)")
        }
    }

    @Test func writerRoundsF16AndBF16AsTorchDoes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let source = try SafeTensorsFile(path: hfFolders + "/dtypes.safetensors")
        let x = try source.readFloats(source.entry(named: "x")!)
        let out = folder.file("x.safetensors")
        let writer = try SafeTensorsWriter(destination: out, tensors: [
            .init(name: "a", dtype: .f32, shape: [4, 5]), .init(name: "b", dtype: .f16, shape: [4, 5]),
            .init(name: "c", dtype: .bf16, shape: [20]),
        ])
        try writer.write(x)
        try writer.write(x)
        try writer.write(x)
        try writer.commit()
        #expect(try folder.contents() == ["x.safetensors"])
        let back = try SafeTensorsFile(path: out)
        #expect(try back.readFloats(back.entry(named: "a")!).map(\.bitPattern) == x.map(\.bitPattern))
        #expect(try back.readFloats(back.entry(named: "b")!).map(\.bitPattern)
                == source.readFloats(source.entry(named: "x_f16_as_f32")!).map(\.bitPattern))
        #expect(try back.readFloats(back.entry(named: "c")!).map(\.bitPattern)
                == source.readFloats(source.entry(named: "x_bf16_as_f32")!).map(\.bitPattern))
        // Header padded to 8 bytes, as the safetensors package writes it.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        let length = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(length % 8 == 0)
    }

    @Test func shardedIndexOfTransformersReadsEveryTensorOnce() throws {
        let shards = try SafeTensorsShards(index: hfFolders + "/llama_gqa_bf16_sharded/model.safetensors.index.json")
        #expect(shards.files.count == 3)
        #expect(shards.names.count == 21 && Set(shards.names).count == 21)
        #expect(shards.entry(named: "lm_head.weight")?.shape == [256, 64])
        #expect(shards.entry(named: "model.embed_tokens.weight")?.dtype == .bf16)
    }

    @Test func writerRefusesAnExistingDestinationAndLeavesNothingWhenAbandoned() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let out = folder.file("a.safetensors")
        do {
            let writer = try SafeTensorsWriter(destination: out, tensors: [.init(name: "t", dtype: .f32, shape: [2])])
            #expect(throws: SafeTensorsError.self) { try writer.commit() }  // t never written
        }
        #expect(try folder.contents().isEmpty)
        try Data([1]).write(to: URL(fileURLWithPath: out))
        #expect(throws: SafeTensorsError.self) {
            try SafeTensorsWriter(destination: out, tensors: [.init(name: "t", dtype: .f32, shape: [2])])
        }
    }

    @Test func shardedWriterSplitsAndIndexes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let decls = (0..<5).map { SafeTensorsWriter.Declaration(name: "t\($0)", dtype: .f32, shape: [10, 10]) }
        let writer = try SafeTensorsShardedWriter(folder: folder.path, tensors: decls, maxShardBytes: 850)
        for i in 0..<5 { try writer.write([Float](repeating: Float(i), count: 100)) }
        try writer.commit()
        let files = try folder.contents()
        #expect(files.contains("model.safetensors.index.json"))
        #expect(files.filter { $0.hasSuffix(".safetensors") } == ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"])
        let shards = try SafeTensorsShards(index: folder.file("model.safetensors.index.json"))
        #expect(shards.names == decls.map(\.name))
        var t3 = [Float](repeating: -1, count: 100)
        try t3.withUnsafeMutableBufferPointer { try shards.read("t3", into: $0) }
        #expect(t3 == [Float](repeating: 3, count: 100))
    }
}

@Suite("safetensors bad input: one sentence naming file and tensor, nothing allocated from a bad size")
struct SafeTensorsBadInputTests {
    func expectInvalid(json: String? = nil, header: [UInt8]? = nil, data: [UInt8] = [], declaredLength: UInt64? = nil,
                       mentioning needles: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("bad.safetensors")
        try craftSafeTensors(path, header: header ?? Array((json ?? "").utf8), data: data, declaredLength: declaredLength)
        do {
            _ = try SafeTensorsFile(path: path)
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch {
            let text = error.description
            #expect(text.contains(path), "\(text)", sourceLocation: sourceLocation)
            #expect(!text.contains("\n") && text.hasSuffix("."), sourceLocation: sourceLocation)
            for needle in needles { #expect(text.contains(needle), "\(text)", sourceLocation: sourceLocation) }
        }
    }

    let eight = [UInt8](repeating: 0, count: 8)

    @Test func oversizedHeaderLengthIsRefusedBeforeAllocating() throws {
        try expectInvalid(header: Array("{}".utf8), declaredLength: 1 << 40, mentioning: ["header length", "above the bound"])
        try expectInvalid(header: Array("{}".utf8), declaredLength: 100_000_001, mentioning: ["header length", "above the bound"])
        try expectInvalid(header: Array("{}".utf8), declaredLength: 50, mentioning: ["header length", "truncated"])
    }

    @Test func nonJSONOrNonUTF8HeaderIsRefused() throws {
        try expectInvalid(json: "{\"a\": [1, 2", mentioning: ["header", "not valid JSON"])
        try expectInvalid(json: "not json at all", mentioning: ["not valid JSON"])
        try expectInvalid(header: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D], mentioning: ["UTF-8"])
        try expectInvalid(json: "[1, 2]", mentioning: ["not a JSON object"])
    }

    @Test func overlappingOffsetsAreRefused() throws {
        try expectInvalid(json: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#,
                          data: [UInt8](repeating: 0, count: 12), mentioning: ["tensor b", "overlaps"])
    }

    @Test func outOfFileOffsetsAreRefused() throws {
        try expectInvalid(json: #"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#,
                          data: eight, mentioning: ["tensor a", "outside the data region"])
        try expectInvalid(json: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#,
                          data: eight, mentioning: ["data region", "not covered"])
        try expectInvalid(json: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#,
                          data: eight, mentioning: ["tensor a", "gap"])
        try expectInvalid(json: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}"#,
                          data: eight, mentioning: ["tensor a", "outside"])
    }

    @Test func unknownDtypeIsRefused() throws {
        try expectInvalid(json: #"{"ids": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}"#,
                          data: eight, mentioning: ["tensor ids", "I64", "F32, F16 and BF16"])
    }

    @Test func duplicateNameIsRefused() throws {
        try expectInvalid(json: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#,
                          data: eight, mentioning: ["duplicate key \"w\""])
    }

    @Test func byteLengthDisagreeingWithShapeIsRefused() throws {
        try expectInvalid(json: #"{"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 8]}}"#,
                          data: eight, mentioning: ["tensor w", "has 8 bytes", "needs 12"])
        // A shape whose element count overflows or passes the file is refused before any multiplication result is used.
        try expectInvalid(json: #"{"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 8]}}"#,
                          data: eight, mentioning: ["tensor w", "larger than the file"])
    }

    @Test func tooShortFileIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: folder.file("short.safetensors")))
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: folder.file("short.safetensors")) }
        #expect(throws: SafeTensorsError.fileNotFound(file: folder.file("absent.safetensors"))) {
            try SafeTensorsFile(path: folder.file("absent.safetensors"))
        }
    }

    @Test func indexNamingAMissingShardIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let source = hfFolders + "/llama_gqa_bf16_sharded/"
        for name in ["model.safetensors.index.json", "model-00001-of-00003.safetensors", "model-00003-of-00003.safetensors"] {
            try FileManager.default.copyItem(atPath: source + name, toPath: folder.file(name))
        }
        do {
            _ = try SafeTensorsShards(index: folder.file("model.safetensors.index.json"))
            Issue.record("no error")
        } catch {
            #expect(error.description.contains("model.safetensors.index.json"))
            #expect(error.description.contains("model-00002-of-00003.safetensors"))
            #expect(error.description.contains("not in the index's folder"))
        }
    }
}
