import Foundation
import GrowkitStorage
import Numerics
import Testing
@testable import GrowkitCheckpoint
import GrowkitState

/// A fresh folder for one test; `remove()` deletes it.
struct ScratchFolder {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "growkit-state-tests-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func contents() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

let tinyGPT2 = RandomState.tinyConfig(.gpt2)
let tinyLlama = RandomState.tinyConfig(.llama)

/// A state with per-parameter steps and decay flags that differ, so a reader
/// that mixes parameters up is caught.
func variedState(_ config: ModelConfig, seed: UInt64 = 7) -> TrainingState {
    var state = RandomState.state(config: config, seed: seed)
    for (index, name) in state.orderedNames.enumerated() {
        state.optimizerState[name]?.step = 40 - index % 5
        state.optimizerState[name]?.applyWeightDecay = index % 2 == 0
    }
    state.schedule = Schedule(kind: .wsd, peakLR: 3e-4, minLR: 3e-5, warmupSteps: 5, totalSteps: 100, decaySteps: 20,
                              rewarmStart: 41, rewarmSteps: 10)
    state.provenance.append(ProvenanceRecord(
        operatorName: "grow", arguments: ["depth": .string("identity"), "factor": .number(2), "noise": .null],
        source: "small.h5", sourceSHA256: String(repeating: "ab", count: 32),
        verification: .object(["max_abs_logit_diff": .number(1.5e-7), "passed": .bool(true)]),
        toolVersion: "0.1.0", time: "2026-11-23T19:00:00Z"))
    return state
}

@Suite struct CheckpointRoundTripTests {
    func expectSameMetadata(_ read: CheckpointReader, _ state: TrainingState) {
        #expect(read.config == state.config)
        #expect(read.optimizer == state.optimizer)
        #expect(read.schedule == state.schedule)
        #expect(read.trainer == state.trainer)
        #expect(read.history == state.history)
        #expect(read.provenance == state.provenance)
        #expect(read.formatVersion == 1)
    }

    @Test(arguments: [tinyGPT2, tinyLlama])
    func float32RoundTripIsExact(config: ModelConfig) throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let state = variedState(config)
        let path = folder.file("state.h5")
        try CheckpointWriter.write(state, to: path, toolVersion: "test")
        #expect(folder.contents() == ["state.h5"], "no temporary file left behind")

        let reader = try CheckpointReader(path: path)
        expectSameMetadata(reader, state)
        #expect(reader.growkitVersion == "test")
        #expect(reader.tensors.count == 3 * config.parameters().count)
        #expect(reader.tensors.allSatisfy { $0.fletcher32 && $0.zstdLevel == nil && $0.elementType == .float32 })
        let all = try reader.readAll()
        for name in state.orderedNames {
            // Streaming access and readAll both equal what was written, bit for bit.
            let value = try reader.parameter(named: name)
            let moments = try reader.moments(named: name)
            #expect(value == state.parameters[name])
            #expect(moments == state.optimizerState[name])
            #expect(all.parameters[name] == value)
            #expect(all.optimizerState[name] == moments)
        }
        #expect(all.metadata == state.metadata)
        // Row ranges equal the matching slice of the whole tensor.
        let embed = try reader.info("model.embed_tokens.weight", .parameter)
        let rows = try reader.tensorRows(at: embed, rows: 10..<13)
        #expect(rows == Array(try #require(state.parameters["model.embed_tokens.weight"]).data[(10 * 32)..<(13 * 32)]))
        #expect(throws: StateError.self) { _ = try reader.tensorRows(at: embed, rows: 250..<257) }
    }

    @Test(arguments: [tinyGPT2, tinyLlama])
    func bfloat16ParametersRoundWithinHalfAnUlp(config: ModelConfig) throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let state = variedState(config, seed: 11)
        let path = folder.file("bf16.h5")
        try CheckpointWriter.write(state, to: path, options: .init(parametersAsBFloat16: true))
        let reader = try CheckpointReader(path: path)
        for info in reader.tensors {
            #expect(info.elementType == (info.role == .parameter ? .bfloat16 : .float32))
        }
        for name in state.orderedNames {
            let original = try #require(state.parameters[name]).data
            let read = try reader.parameter(named: name).data
            // bfloat16 keeps 8 significant bits: round-to-nearest is within half an ulp,
            // a relative error of at most 2^-8 of the value for every normal float.
            let outside = zip(original, read).filter { a, b in !b.isApproximatelyEqual(to: a, relativeTolerance: 0x1p-8) }
            #expect(outside.isEmpty, "\(name): \(outside.prefix(3)) beyond 2^-8 relative")
            #expect(read != original, "\(name) was not rounded at all")
            // Moments stay float32, exact.
            #expect(try reader.moments(named: name) == state.optimizerState[name])
        }
        // The streaming reader (read-ahead) gives every tensor, in order, as the one-at-a-time reads do.
        var visited: [String] = []
        try reader.forEachTensor(reader.tensors) { info, tensor throws(StateError) in
            visited.append(info.path)
            #expect(tensor == (try reader.tensor(at: info)), "\(info.path)")
        }
        #expect(visited == reader.tensors.map(\.path))
        let all = try reader.readAll()
        for name in state.orderedNames {
            #expect(all.parameters[name] == (try reader.parameter(named: name)))
            #expect(all.optimizerState[name] == state.optimizerState[name])
        }
    }

    @Test func zstdRoundTripIsExactAndCompresses() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var state = variedState(tinyLlama, seed: 3)
        // Compressible content: zero moments for the embedding (a fresh parameter).
        state.optimizerState["model.embed_tokens.weight"] = AdamParameterState(freshFor: [256, 32], applyWeightDecay: true)
        let plain = folder.file("plain.h5"), packed = folder.file("zstd.h5")
        try CheckpointWriter.write(state, to: plain)
        try CheckpointWriter.write(state, to: packed, options: .init(zstdLevel: 7))
        let reader = try CheckpointReader(path: packed)
        #expect(reader.tensors.allSatisfy { $0.zstdLevel == 7 && $0.fletcher32 })
        let all = try reader.readAll()
        for name in state.orderedNames {
            #expect(all.parameters[name] == state.parameters[name])
            #expect(all.optimizerState[name] == state.optimizerState[name])
        }
        let embed = try reader.info("model.embed_tokens.weight", .expAvg)
        #expect(embed.storedBytes < embed.rawBytes / 10, "32 KiB of zeros should compress far below 10%")
        try reader.verifyAllChunks()
    }

    @Test func verifyReportsProgressOverEveryTensor() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let path = folder.file("state.h5")
        try CheckpointWriter.write(RandomState.state(config: tinyGPT2, seed: 1), to: path)
        let reader = try CheckpointReader(path: path)
        var seen: [Int] = []
        var last = 0
        try reader.verifyAllChunks { progress in
            seen.append(progress.index)
            last = progress.bytesDone
            #expect(progress.count == reader.tensors.count)
        }
        #expect(seen == Array(0..<reader.tensors.count))
        #expect(last == reader.tensorBytes.raw)
    }

    @Test func statisticsMatchANaiveComputation() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let path = folder.file("state.h5")
        let state = RandomState.state(config: tinyGPT2, seed: 5)
        try CheckpointWriter.write(state, to: path)
        let stats = try CheckpointReader(path: path).tensorStatistics()
        let (info, first) = try #require(stats.first)
        #expect(info.path == "/params/model/embed_tokens/weight")
        let data = try #require(state.parameters["model.embed_tokens.weight"]).data.map(Double.init)
        // Two-pass float64 reference: mean, then population std; rms directly.
        let mean = data.reduce(0, +) / Double(data.count)
        let std = (data.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(data.count)).squareRoot()
        let rms = (data.map { $0 * $0 }.reduce(0, +) / Double(data.count)).squareRoot()
        // Welford vs two-pass in float64 over 8192 values: agreement to ~1e-12 relative.
        #expect(first.mean.isApproximatelyEqual(to: mean, absoluteTolerance: 1e-12))
        #expect(first.std.isApproximatelyEqual(to: std, relativeTolerance: 1e-10))
        #expect(first.rms.isApproximatelyEqual(to: rms, relativeTolerance: 1e-10))
        #expect(first.min == Float(data.min()!) && first.max == Float(data.max()!))
        #expect(first.nanCount == 0 && first.infCount == 0 && first.count == 8192)
        let special = TensorStatistics([1, .nan, -.infinity, 3, .infinity])
        #expect(special.nanCount == 1 && special.infCount == 2 && special.finiteCount == 2)
        #expect(special.mean == 2 && special.min == 1 && special.max == 3)
    }
}
