import Foundation
import GrowkitCheckpoint
import GrowkitState
import GrowkitStorage

/// `growkit-bench convert [--dir DIR] [--rounds N] [--layers L]`
///
/// `growkit convert` from a Hugging Face folder to a weights-only growkit state on GPT-2 124M
/// shapes (`model.safetensors`, float32, 498 MB, written first by the Swift writer), against a
/// plain copy of the same file (read in 8 MiB blocks, write, fsync) in the same run, rounds
/// alternated, page cache warm on both sides. It also times reading every tensor alone and
/// reading plus mapping (GPT-2's transposes), the conversion's work before any write.
enum ConvertBenchmark {
    static func run(arguments: [String]) {
        var folder = "/tmp", rounds = 3, layers = 12
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--dir" where i + 1 < arguments.count: folder = arguments[i + 1]; i += 1
            case "--rounds" where i + 1 < arguments.count: rounds = max(1, Int(arguments[i + 1]) ?? 3); i += 1
            case "--layers" where i + 1 < arguments.count: layers = max(1, Int(arguments[i + 1]) ?? 12); i += 1
            default: print("usage: growkit-bench convert [--dir DIR] [--rounds N] [--layers L]"); return
            }
            i += 1
        }
        do {
            try measure(folder: folder, rounds: rounds, layers: layers)
        } catch {
            print("convert benchmark failed: \(error)")
        }
    }

    static func measure(folder: String, rounds: Int, layers: Int) throws {
        let config = ModelConfig.gpt2(vocabSize: 50257, hiddenSize: 768, numLayers: layers, numHeads: 12, maxPosition: 1024)
        let hf = folder + "/growkit-bench-convert-hf"
        let state = folder + "/growkit-bench-convert.h5"
        let copy = folder + "/growkit-bench-convert-copy.bin"
        func cleanup() {
            for file in ["model.safetensors", "config.json"] { unlink(hf + "/" + file) }
            rmdir(hf)
            unlink(state); unlink(copy)
        }
        cleanup()
        defer { cleanup() }
        try HuggingFaceFolderWriter.write(config: config, to: hf) { spec in
            Tensor(shape: spec.shape, data: StateBenchmark.values(spec.elementCount, spec.elementCount))
        }
        let input = hf + "/model.safetensors"
        var info = stat()
        stat(input, &info)
        let bytes = Double(info.st_size)
        print("convert: GPT-2 124M shapes, \(layers) layers, \(config.parameterCount) parameters, model.safetensors \(String(format: "%.0f", bytes / 1e6)) MB (F32)")

        var convertTimes: [Double] = [], copyTimes: [Double] = [], readTimes: [Double] = []
        var rawTimes: [Double] = [], convertCPU: [Double] = []
        var stateBytes = 0.0
        for _ in 0..<rounds {
            unlink(copy)
            copyTimes.append(try StateBenchmark.seconds { try plainCopy(input, to: copy) })
            unlink(state)
            let cpu0 = BenchClock.processCPU()
            convertTimes.append(try StateBenchmark.seconds {
                try HuggingFaceConversion.toCheckpoint(input: hf, output: state, toolVersion: "bench")
            })
            convertCPU.append(BenchClock.processCPU() - cpu0)
            stat(state, &info)
            stateBytes = Double(info.st_size)
            var checksum: Float = 0
            rawTimes.append(try StateBenchmark.seconds {
                let file = try SafeTensorsFile(path: input)
                for entry in file.entries { checksum += try file.readFloats(entry)[0] }
            })
            readTimes.append(try StateBenchmark.seconds {
                let model = try HuggingFaceModel(path: hf)
                try model.forEachParameter { _, tensor in checksum += tensor.data[0] }
            })
        }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        let convert = median(convertTimes), plain = median(copyTimes), read = median(readTimes)
        print(String(format: "convert to growkit HDF5: %.2f s (%.0f MB/s of input; weights-only state %.0f MB)", convert, bytes / convert / 1e6, stateBytes / 1e6))
        print(String(format: "convert CPU time (both threads): %.2f s", median(convertCPU)))
        print(String(format: "plain copy of model.safetensors (read, write, fsync): %.2f s (%.0f MB/s)", plain, bytes / plain / 1e6))
        print(String(format: "read every tensor (SafeTensorsFile.readFloats, no mapping): %.2f s (%.0f MB/s)", median(rawTimes), bytes / median(rawTimes) / 1e6))
        print(String(format: "read + map every tensor (HuggingFaceModel, no write): %.2f s (%.0f MB/s)", read, bytes / read / 1e6))
        print(String(format: "ratio (plain copy time / convert time, medians of %d alternated rounds): %.2f (target >= 0.70); per round: %@",
                     rounds, plain / convert,
                     zip(copyTimes, convertTimes).map { String(format: "%.2f", $0 / $1) }.joined(separator: " ")))
    }

    /// Reads `source` in 8 MiB blocks and writes them to `destination`, then fsyncs.
    static func plainCopy(_ source: String, to destination: String) throws {
        let input = open(source, O_RDONLY)
        guard input >= 0 else { throw StorageBenchmark.BenchError("cannot open \(source): errno \(errno)") }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard output >= 0 else { throw StorageBenchmark.BenchError("cannot create \(destination): errno \(errno)") }
        defer { close(output) }
        let block = UnsafeMutableRawPointer.allocate(byteCount: 8 << 20, alignment: 4096)
        defer { block.deallocate() }
        var offset: off_t = 0
        while true {
            let n = pread(input, block, 8 << 20, offset)
            if n < 0 { throw StorageBenchmark.BenchError("cannot read \(source): errno \(errno)") }
            if n == 0 { break }
            try StorageBenchmark.writeAll(output, block, n)
            offset += off_t(n)
        }
        guard fsync(output) == 0 else { throw StorageBenchmark.BenchError("fsync of \(destination) failed: errno \(errno)") }
    }
}
