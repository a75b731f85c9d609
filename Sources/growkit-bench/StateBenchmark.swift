import Foundation
import GrowkitCheckpoint
import GrowkitState
import GrowkitStorage

/// `growkit-bench state [--dir DIR] [--quick]`
///
/// The checkpoint layer's cost over the storage layer it sits on, on a GPT-2
/// 124M training state (params + exp_avg + exp_avg_sq = 3 x 124.4M float32,
/// 1.49 GB; `--quick`: 2 layers, 0.53 GB), one tensor at a time:
/// 1. write: `CheckpointWriter` (metadata, validation, atomic commit with fsync)
///    against the same datasets written straight through GrowkitStorage's
///    `AtomicHDF5Writer` with the same options (baseline);
/// 2. open: `CheckpointReader(path:)`, which validates the whole structure and
///    reads all metadata but no tensor data, against reading every tensor;
/// 3. read: `parameter(named:)` + `moments(named:)` for every parameter against
///    `HDF5Dataset.read` of the same datasets (baseline); best of 3 alternating runs each,
///    warm page cache.
enum StateBenchmark {
    static func run(arguments: [String]) {
        var folder = "/tmp", quick = false
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--dir" where i + 1 < arguments.count: folder = arguments[i + 1]; i += 1
            case "--quick": quick = true
            default: print("usage: growkit-bench state [--dir DIR] [--quick]"); return
            }
            i += 1
        }
        do {
            try measure(folder: folder, layers: quick ? 2 : 12)
        } catch {
            print("state benchmark failed: \(error)")
        }
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = BenchClock.wall()
        try body()
        return BenchClock.wall() - start
    }

    /// A cheap deterministic fill (the benchmark measures I/O, not the generator).
    static func values(_ count: Int, _ salt: Int) -> [Float] {
        (0..<count).map { Float(($0 &* 2654435761 &+ salt) % 1000) * 1e-4 }
    }

    /// A state of `config` with ``values(_:_:)`` for weights and moments (step 40), written
    /// one tensor at a time through `CheckpointWriter`.
    static func write(_ config: ModelConfig, metadata: CheckpointMetadata, to path: String) throws {
        let writer = try CheckpointWriter(path: path, metadata: metadata, toolVersion: "bench")
        for (index, spec) in config.parameters().enumerated() {
            let n = spec.elementCount
            let moments = AdamParameterState(expAvg: Tensor(shape: spec.shape, data: values(n, 1)),
                                             expAvgSq: Tensor(shape: spec.shape, data: values(n, 2)),
                                             step: 40, applyWeightDecay: spec.defaultWeightDecay)
            try writer.write(parameter: spec.name, value: Tensor(shape: spec.shape, data: values(n, index)), state: moments)
        }
        try writer.commit()
    }

    static func measure(folder: String, layers: Int) throws {
        let config = ModelConfig.gpt2(vocabSize: 50257, hiddenSize: 768, numLayers: layers, numHeads: 12, maxPosition: 1024)
        let specs = config.parameters()
        let bytes = Double(3 * config.parameterCount * 4)
        let metadata = RandomState.fixtureMetadata(config: config, seed: 1, arguments: [:], toolVersion: "bench",
                                                   time: ProvenanceRecord.now())
        let statePath = folder + "/growkit-bench-state.h5", basePath = folder + "/growkit-bench-baseline.h5"
        defer {
            unlink(statePath)
            unlink(basePath)
        }
        print("state: GPT-2 124M shapes, \(layers) layers, \(config.parameterCount) parameters, 3 tensors each, \(String(format: "%.2f", bytes / 1e9)) GB")

        let writeState = try seconds { try write(config, metadata: metadata, to: statePath) }
        let writeBase = try seconds {
            let writer = try AtomicHDF5Writer(destination: basePath)
            for (index, spec) in specs.enumerated() {
                let n = spec.elementCount
                let options = DatasetOptions(chunkShape: DatasetOptions.chunkShape(for: spec.shape, elementSize: 4))
                try writer.file.writeDataset("/params/" + spec.storagePath, values(n, index), shape: spec.shape, options: options)
                try writer.file.writeDataset("/exp_avg/" + spec.storagePath, values(n, 1), shape: spec.shape, options: options)
                try writer.file.writeDataset("/exp_avg_sq/" + spec.storagePath, values(n, 2), shape: spec.shape, options: options)
            }
            try writer.commit()
        }
        print(String(format: "write: CheckpointWriter %.2f s (%.0f MB/s), storage baseline %.2f s (%.0f MB/s), ratio %.2f (includes generating the values on both sides)",
                     writeState, bytes / writeState / 1e6, writeBase, bytes / writeBase / 1e6, writeState / writeBase))

        var reader: CheckpointReader?
        let open = try seconds { reader = try CheckpointReader(path: statePath) }
        guard let reader else { return }
        var checksum: Float = 0
        func readState() throws {
            for spec in specs {
                let value = try reader.parameter(named: spec.name), moments = try reader.moments(named: spec.name)
                checksum += value.data[0] + moments.expAvg.data[0] + moments.expAvgSq.data[0]
            }
        }
        let base = try HDF5File.openReadOnly(basePath)
        func readBase() throws {
            for spec in specs {
                // All three alive together, as a parameter and its moments are in the reader.
                let value = try base.openDataset("/params/" + spec.storagePath).read(Float.self)
                let expAvg = try base.openDataset("/exp_avg/" + spec.storagePath).read(Float.self)
                let expAvgSq = try base.openDataset("/exp_avg_sq/" + spec.storagePath).read(Float.self)
                checksum += value[0] + expAvg[0] + expAvgSq[0]
            }
        }
        // Alternate the two sides and keep each one's best of 3, so neither gains from order or cache state.
        var stateTimes: [Double] = [], baseTimes: [Double] = []
        for _ in 0..<3 {
            stateTimes.append(try seconds(readState))
            baseTimes.append(try seconds(readBase))
        }
        let readState = stateTimes.min() ?? 0, readBase = baseTimes.min() ?? 0
        print(String(format: "open: CheckpointReader (validate + all metadata, %d datasets) %.1f ms = %.3f%% of reading the tensors",
                     reader.tensors.count, open * 1e3, 100 * open / readState))
        print(String(format: "read: CheckpointReader %.2f s (%.0f MB/s), storage baseline %.2f s (%.0f MB/s), ratio %.2f [checksum %.1f]",
                     readState, bytes / readState / 1e6, readBase, bytes / readBase / 1e6, readState / readBase, checksum))
    }
}
