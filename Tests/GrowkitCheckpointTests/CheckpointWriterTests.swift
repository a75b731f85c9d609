import Foundation
import Testing
@testable import GrowkitCheckpoint
import GrowkitState

@Suite struct CheckpointWriterTests {
    struct InjectedFailure: Error {}

    /// Streams `input` into `output` tensor by tensor, as `grow` does, throwing
    /// `InjectedFailure` after `failAfter` parameters when given.
    func copy(_ input: String, to output: String, failAfter: Int? = nil) throws {
        let reader = try CheckpointReader(path: input)
        let writer = try CheckpointWriter(path: output, metadata: reader.metadata, inputPath: input)
        for (index, spec) in reader.specs.enumerated() {
            if index == failAfter { throw InjectedFailure() }
            try writer.write(parameter: spec.name, value: reader.parameter(named: spec.name), state: reader.moments(named: spec.name))
        }
        try writer.commit()
    }

    @Test func failureMidWriteLeavesNothingAndTheInputUnchanged() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let input = folder.file("input.h5"), output = folder.file("output.h5")
        try FileManager.default.copyItem(atPath: fixtures + "/tiny-llama.h5", toPath: input)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        // Fails after 5 of the 21 parameters (15 datasets written to the temporary file).
        #expect(throws: InjectedFailure.self) { try copy(input, to: output, failAfter: 5) }
        #expect(folder.contents() == ["input.h5"], "no output and no temporary file: \(folder.contents())")
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before, "input bytes unchanged")
        // The same copy without the failure commits and reads back equal.
        try copy(input, to: output)
        #expect(folder.contents() == ["input.h5", "output.h5"])
        let a = try CheckpointReader(path: input).readAll(), b = try CheckpointReader(path: output).readAll()
        #expect(a.parameters == b.parameters && a.optimizerState == b.optimizerState && a.metadata == b.metadata)
    }

    @Test func commitRefusesMissingParameters() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let state = RandomState.state(config: tinyGPT2, seed: 9)
        let path = folder.file("partial.h5")
        let writer = try CheckpointWriter(path: path, metadata: state.metadata)
        for name in state.orderedNames.dropLast(2) {
            try writer.write(parameter: name, value: state.parameters[name]!, state: state.optimizerState[name]!)
        }
        #expect(throws: StateError.incompleteCheckpoint(file: path, missing: ["model.norm.weight", "model.norm.bias"])) {
            try writer.commit()
        }
        #expect(folder.contents().isEmpty)
    }

    @Test func writerRefusesItsOwnInput() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let input = folder.file("state.h5")
        try FileManager.default.copyItem(atPath: fixtures + "/tiny-gpt2.h5", toPath: input)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let metadata = try CheckpointReader(path: input).metadata
        // The same file by another spelling of its path, and through a symbolic link.
        let link = folder.file("link.h5")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: input)
        for output in [input, folder.path + "/./state.h5", link] {
            #expect(throws: StateError.outputIsInput(file: output)) {
                _ = try CheckpointWriter(path: output, metadata: metadata, options: .init(overwrite: true), inputPath: input)
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before)
        #expect(folder.contents() == ["link.h5", "state.h5"])
    }

    @Test func writerRefusesBadTensors() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let state = RandomState.state(config: tinyLlama, seed: 9)
        let path = folder.file("out.h5")
        let writer = try CheckpointWriter(path: path, metadata: state.metadata)
        let name = "model.layers.0.mlp.up_proj.weight"
        let moments = try #require(state.optimizerState[name])
        #expect(throws: StateError.self) {
            try writer.write(parameter: name, value: Tensor(zeros: [64, 31]), state: moments)
        }
        #expect(throws: StateError.unknownParameter(file: path, name: "model.layers.9.mlp.up_proj.weight")) {
            try writer.write(parameter: "model.layers.9.mlp.up_proj.weight", value: Tensor(zeros: [64, 32]), state: moments)
        }
        try writer.write(parameter: name, value: state.parameters[name]!, state: moments)
        #expect(throws: StateError.self) { try writer.write(parameter: name, value: state.parameters[name]!, state: moments) }
        writer.abandon()
        #expect(folder.contents().isEmpty)
        #expect(throws: StateError.self) {
            _ = try CheckpointWriter(path: path, metadata: state.metadata, options: .init(zstdLevel: 40))
        }
        // JSON has no NaN: a record that cannot be stored faithfully is refused, not written as "{}".
        var metadata = state.metadata
        metadata.provenance[0].arguments["noise"] = .number(.nan)
        #expect(throws: StateError.self) { _ = try CheckpointWriter(path: path, metadata: metadata) }
        #expect(folder.contents().isEmpty)
    }
}
