import Foundation
import GrowkitCheckpoint
import GrowkitState
import GrowkitStorage
import GrowkitTestSupport
import Testing

/// Weights-only states (docs/FORMAT.md): `/config`, `/params`, `/provenance` only.
@Suite struct WeightsOnlyTests {
    @Test func roundTripKeepsEveryValueAndWritesNoTrainingGroup() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let state = variedState(tinyLlama)
        let path = folder.file("w.h5")
        try CheckpointWriter.write(state, to: path, options: .init(weightsOnly: true))
        let reader = try CheckpointReader(path: path)
        #expect(reader.isWeightsOnly)
        #expect(try reader.parameters().mapValues(\.data) == state.parameters.mapValues(\.data))
        #expect(reader.tensors.count == reader.specs.count && reader.tensors.allSatisfy { $0.role == .parameter })
        let file = try HDF5File.openReadOnly(path)
        for group in ["/optimizer", "/schedule", "/trainer", "/history"] {
            #expect(try !file.exists(group), "\(group) written in a weights-only state")
        }
        #expect(try file.exists("/provenance/records"))
        // readAll: fresh AdamW state and the documented defaults.
        let all = try reader.readAll()
        #expect(all.weightsOnly && all.trainer.step == 0 && all.history.count == 0)
        #expect(all.optimizer == AdamWHyperparameters())
        for spec in tinyLlama.parameters() {
            let moments = try #require(all.optimizerState[spec.name])
            #expect(moments.step == 0 && moments.applyWeightDecay == spec.defaultWeightDecay)
            #expect(moments.expAvg.data.allSatisfy { $0 == 0 } && moments.expAvgSq.data.allSatisfy { $0 == 0 })
        }
        // Written again from readAll, it stays weights only.
        try CheckpointWriter.write(all, to: folder.file("again.h5"))
        #expect(try CheckpointReader(path: folder.file("again.h5")).isWeightsOnly)
    }

    @Test func momentsOfAWeightsOnlyStateAreRefusedInOneSentence() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let path = folder.file("w.h5")
        try CheckpointWriter.write(variedState(tinyGPT2), to: path, options: .init(weightsOnly: true))
        let reader = try CheckpointReader(path: path)
        let name = "model.layers.0.mlp.up_proj.weight"
        for attempt in [{ _ = try reader.moments(named: name) }, { _ = try reader.momentAttributes(named: name) },
                        { _ = try reader.info(name, .expAvg) }] as [() throws -> Void] {
            do {
                try attempt()
                Issue.record("moments of a weights-only state were returned")
            } catch let error as StateError {
                guard case .weightsOnly = error else { Issue.record("wrong error \(error)"); continue }
                let text = error.description
                #expect(text.contains(path) && text.contains("weights-only") && text.contains(name))
                #expect(text.hasSuffix(".") && !text.dropLast().contains(". ") && !text.contains("\n"))
            }
        }
    }

    @Test func writerRefusesMomentsAndCommitsWithValuesOnly() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let state = variedState(tinyGPT2)
        let writer = try CheckpointWriter(path: folder.file("w.h5"), metadata: state.metadata, options: .init(weightsOnly: true))
        let name = state.orderedNames[0]
        #expect(throws: StateError.self) { try writer.write(.expAvg, of: name, tensor: state.optimizerState[name]!.expAvg) }
        for name in state.orderedNames { try writer.write(.parameter, of: name, tensor: state.parameters[name]!) }
        #expect(writer.missingParameters.isEmpty)
        try writer.commit()
        #expect(try CheckpointReader(path: folder.file("w.h5")).isWeightsOnly)
    }

    @Test func aTrainingGroupWithoutOptimizerIsRefused() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        // A full state with /optimizer removed: /schedule, /trainer, /history left behind.
        let path = folder.file("half.h5")
        try CheckpointWriter.write(variedState(tinyGPT2), to: path)
        try CheckpointSurgery.edit(path) { try $0.delete("/optimizer") }
        #expect {
            _ = try CheckpointReader(path: path)
        } throws: { error in
            "\(error)".contains("without /optimizer")
        }
    }
}

/// tools/check_format.py (h5py, the JSON schema) accepts weights-only states and refuses a half one.
@Suite struct WeightsOnlyFormatCheckTests {
    @Test func checkerAcceptsWeightsOnlyAndRefusesAHalfState() throws {
        try #require(pythonCheckerAvailable, "python3 with h5py, hdf5plugin, jsonschema is missing; run tools/setup.sh")
        let folder = try ScratchFolder()
        defer { folder.remove() }
        try CheckpointWriter.write(variedState(tinyLlama), to: folder.file("w.h5"), options: .init(weightsOnly: true))
        try CheckpointWriter.write(variedState(tinyGPT2), to: folder.file("w-bf16.h5"),
                                   options: .init(zstdLevel: 3, parametersAsBFloat16: true, weightsOnly: true))
        let (status, output) = try checkFormat([folder.file("w.h5"), folder.file("w-bf16.h5")])
        #expect(status == 0 && output.contains("format: 2 passed, 0 failed"), "\(output)")

        try CheckpointWriter.write(variedState(tinyGPT2), to: folder.file("half.h5"))
        try CheckpointSurgery.edit(folder.file("half.h5")) { try $0.delete("/optimizer") }
        let (badStatus, badOutput) = try checkFormat([folder.file("half.h5")])
        #expect(badStatus != 0 && badOutput.contains("format: 0 passed, 1 failed"), "\(badOutput)")
    }
}
