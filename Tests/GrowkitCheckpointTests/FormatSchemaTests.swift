import Foundation
import GrowkitTestSupport
import Testing
@testable import GrowkitCheckpoint
import GrowkitState

/// Whether python3 with h5py, hdf5plugin and jsonschema is installed (tools/check_format.py needs them).
let pythonCheckerAvailable: Bool = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import h5py, hdf5plugin, jsonschema, referencing"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Runs tools/check_format.py on `files`; returns its exit status and output.
func checkFormat(_ files: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", repositoryRoot + "/tools/check_format.py"] + files
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The Swift writer's files validate against schemas/ with an independent
/// reader (h5py) and an independent parameter table (Python), and the checker
/// fails on a file that breaks the format.
/// Required, not skipped: tools/setup.sh installs what the checker needs.
@Suite struct FormatSchemaTests {
    @Test func writerOutputValidatesAgainstTheSchemas() throws {
        try #require(pythonCheckerAvailable, "python3 with h5py, hdf5plugin, jsonschema is missing; run tools/setup.sh")
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var empty = RandomState.state(config: tinyGPT2, seed: 4)
        empty.history = TrainingHistory()
        empty.provenance = []
        let files: [(String, TrainingState, CheckpointWriter.Options)] = [
            ("varied-llama.h5", variedState(tinyLlama), .init()),
            ("varied-gpt2-bf16-zstd.h5", variedState(tinyGPT2), .init(zstdLevel: 9, parametersAsBFloat16: true)),
            ("empty-logs.h5", empty, .init()),
        ]
        for (name, state, options) in files {
            try CheckpointWriter.write(state, to: folder.file(name), options: options)
        }
        // Empty history and provenance read back empty.
        let reread = try CheckpointReader(path: folder.file("empty-logs.h5"))
        #expect(reread.history.count == 0 && reread.provenance.isEmpty)

        let paths = files.map { folder.file($0.0) } + [fixtures + "/tiny-gpt2.h5", fixtures + "/tiny-llama.h5"]
        let (status, output) = try checkFormat(paths)
        #expect(status == 0, "\(output)")
        #expect(output.contains("format: 5 passed, 0 failed"), "\(output)")
    }

    @Test func checkerRejectsABrokenFile() throws {
        try #require(pythonCheckerAvailable, "python3 with h5py, hdf5plugin, jsonschema is missing; run tools/setup.sh")
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let path = folder.file("broken.h5")
        try FileManager.default.copyItem(atPath: fixtures + "/tiny-llama.h5", toPath: path)
        try CheckpointSurgery.edit(path) {
            try $0.replaceWithFloat32("/optimizer/exp_avg_sq/model/layers/1/mlp/down_proj/weight", shape: [32, 63])
        }
        let (status, output) = try checkFormat([path])
        #expect(status != 0)
        #expect(output.contains("format: 0 passed, 1 failed"), "\(output)")
    }
}
