import GrowkitState
import GrowkitStorage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Hugging Face model read as a growkit config and growkit-named parameters, streamed one
/// tensor at a time (docs/HUGGINGFACE.md).
///
/// `path` is a folder (`config.json` with `model.safetensors`, or shards with
/// `model.safetensors.index.json`), a `.safetensors` file (config.json next to it) or an index
/// file. `init` reads config.json and every safetensors header and checks, before any tensor
/// data is read, that the tensor names and shapes are exactly those the config implies (a
/// tied `lm_head.weight` may be present; GPT-2's causal-mask buffers and Llama's
/// `rotary_emb.inv_freq` are ignored).
public final class HuggingFaceModel {
    /// The path as given.
    public let path: String
    public let configPath: String
    public let config: ModelConfig
    public let weights: SafeTensorsShards
    /// The files whose bytes make the model: config.json, the index when sharded, every shard.
    public let sourceFiles: [String]
    /// The parameter table of `config`, in canonical order.
    public let specs: [ParameterSpec]
    /// The Hugging Face tensor names and the model prefix used by these files.
    public let prefix: String
    /// Whether `lm_head.weight` is stored although the config ties it (checked equal to the embedding).
    public let storesTiedHead: Bool

    public init(path: String) throws(HuggingFaceError) {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else { throw .invalidPath(path: path, problem: "no such file or folder; check the path") }
        let folder: String
        do {
            if (info.st_mode & S_IFMT) == S_IFDIR {
                folder = path
                let index = path + "/" + SafeTensorsShards.indexFileName
                let single = path + "/model.safetensors"
                if access(index, F_OK) == 0 {
                    weights = try SafeTensorsShards(index: index)
                } else if access(single, F_OK) == 0 {
                    weights = try SafeTensorsShards(file: single)
                } else {
                    throw HuggingFaceError.invalidPath(path: path, problem: "the folder has neither model.safetensors nor \(SafeTensorsShards.indexFileName); pass a Hugging Face model folder saved with safe_serialization")
                }
            } else if path.hasSuffix(".index.json") {
                folder = folderOf(path)
                weights = try SafeTensorsShards(index: path)
            } else if path.hasSuffix(".safetensors") {
                folder = folderOf(path)
                weights = try SafeTensorsShards(file: path)
            } else {
                throw HuggingFaceError.invalidPath(path: path, problem: "not a folder, a .safetensors file or a safetensors index; pass a Hugging Face model folder")
            }
        } catch let error as SafeTensorsError {
            throw .safetensors(error)
        } catch let error as HuggingFaceError {
            throw error
        } catch {
            throw .invalidPath(path: path, problem: "\(error)")
        }
        configPath = (folder.isEmpty ? "." : folder) + "/config.json"
        config = try HuggingFaceConfig.read(configPath)
        specs = config.parameters()
        sourceFiles = [configPath] + (weights.indexPath.map { [$0] } ?? []) + weights.files.map(\.path)

        let canonical = HuggingFaceSource.prefix(config.family)
        prefix = weights.names.contains { $0.hasPrefix(canonical) } ? canonical : ""
        var expected: [String: [Int]] = [:]
        var order: [String] = []
        for spec in specs {
            let source = HuggingFaceSource.of(spec, config)
            let full = (source.prefixed ? prefix : "") + source.name
            if expected[full] == nil { order.append(full) }
            expected[full] = source.shape
        }
        var headStored = false
        let where_ = weights.indexPath ?? weights.files.first?.path ?? path
        for name in weights.names {
            let file = weights.path(of: name) ?? where_
            guard let entry = weights.entry(named: name) else { continue }
            if let shape = expected[name] {
                guard entry.shape == shape else { throw .wrongShape(file: file, tensor: name, found: entry.shape, expected: shape) }
            } else if name == "lm_head.weight" && config.tieEmbeddings {
                let shape = [config.vocabSize, config.hiddenSize]
                guard entry.shape == shape else { throw .wrongShape(file: file, tensor: name, found: entry.shape, expected: shape) }
                headStored = true
            } else if name.hasPrefix(prefix), HuggingFaceSource.isIgnoredBuffer(String(name.dropFirst(prefix.count)), config.family) {
                continue
            } else {
                let architecture = config.family == .gpt2 ? "GPT2LMHeadModel" : "LlamaForCausalLM"
                throw .unexpectedTensor(file: file, tensor: name, architecture: architecture)
            }
        }
        for name in order where weights.entry(named: name) == nil {
            throw .missingTensor(file: where_, tensor: name)
        }
        storesTiedHead = headStored
    }

    /// Calls `body` with every growkit parameter in canonical order, as float32 in torch
    /// `[out, in]` layout. At most one source tensor of each of GPT-2's fused `c_attn`
    /// weight and bias is cached, so memory stays a few times the largest tensor.
    public func forEachParameter(_ body: (ParameterSpec, Tensor) throws(HuggingFaceError) -> Void) throws(HuggingFaceError) {
        var buffers = ReadBuffers()
        try forEachParameter(buffers: &buffers, body)
    }

    /// ``forEachParameter(_:)`` with the reusable memory of the pass passed in.
    func forEachParameter(buffers: inout ReadBuffers, _ body: (ParameterSpec, Tensor) throws(HuggingFaceError) -> Void) throws(HuggingFaceError) {
        for spec in specs {
            let tensor = try parameter(spec, buffers: &buffers)
            if spec.name == "model.embed_tokens.weight" && storesTiedHead {
                let head = try read("lm_head.weight", count: tensor.data.count, reusing: nil)
                if head != tensor.data {
                    throw .untiedHead(file: weights.path(of: "lm_head.weight") ?? path, tensor: "lm_head.weight")
                }
            }
            try body(spec, tensor)
        }
    }

    /// One growkit parameter by dotted name (reads its source tensor; c_attn whole).
    public func parameter(named name: String) throws(HuggingFaceError) -> Tensor {
        guard let spec = specs.first(where: { $0.name == name }) else {
            throw .missingTensor(file: path, tensor: name)
        }
        var buffers = ReadBuffers()
        return try parameter(spec, buffers: &buffers)
    }

    /// The memory one pass over the parameters reuses. A new array is paid for in first-touch
    /// page faults about as much as reading its bytes (GPT-2 124M: 0.39 s to read and map every
    /// tensor into new arrays, 0.10 s to read them alone), so the sources of layout changes are
    /// kept from layer to layer, and outputs the consumer has finished with come back.
    struct ReadBuffers {
        /// Sources of transposed tensors, one per element count (three for GPT-2).
        var sources: [Int: [Float]] = [:]
        /// GPT-2's fused `c_attn` weight (rank 2) and bias (rank 1) of the current layer, by
        /// rank, with their Hugging Face names.
        var fused: [Int: (name: String, data: [Float])] = [:]
        /// An array of exactly the count asked for whose contents may be overwritten, or nil.
        var recycled: (Int) -> [Float]? = { _ in nil }
    }

    // MARK: - internals

    /// Tensor `name` (`count` floats) read into `reused` when given, else into a new array.
    private func read(_ name: String, count: Int, reusing reused: consuming [Float]?) throws(HuggingFaceError) -> [Float] {
        try Self.filled(count, reusing: reused.take()) { (buffer) throws(HuggingFaceError) in
            do throws(SafeTensorsError) {
                try weights.read(name, into: buffer)
            } catch {
                throw .safetensors(error)
            }
        }
    }

    /// An array of `count` floats written by `fill`: `reused` when it has that count (its old
    /// contents are overwritten), else a new allocation, uninitialized until `fill` runs.
    private static func filled(
        _ count: Int, reusing reused: consuming [Float]?, _ fill: (UnsafeMutableBufferPointer<Float>) throws(HuggingFaceError) -> Void
    ) throws(HuggingFaceError) -> [Float] {
        guard count > 0 else { return [] }
        // take() leaves `array` the only reference, so the write below is in place, not a copy.
        if var array = reused.take(), array.count == count {
            try array.withUnsafeMutableBufferPointer { (buffer) throws(HuggingFaceError) in try fill(buffer) }
            return array
        }
        var failure: HuggingFaceError?
        let array = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(HuggingFaceError) {
                try fill(buffer)
            } catch {
                failure = error
                buffer.initialize(repeating: 0)
            }
            initialized = count
        }
        if let failure { throw failure }
        return array
    }

    private func parameter(_ spec: ParameterSpec, buffers: inout ReadBuffers) throws(HuggingFaceError) -> Tensor {
        let source = HuggingFaceSource.of(spec, config)
        let full = (source.prefixed ? prefix : "") + source.name
        let count = spec.elementCount
        switch source.transform {
        case .copy:
            return Tensor(shape: spec.shape, data: try read(full, count: count, reusing: buffers.recycled(count)))
        case .transpose:
            let data = try read(full, count: count, reusing: buffers.sources.removeValue(forKey: count))
            defer { buffers.sources[count] = data }
            let (rows, cols) = (source.shape[0], source.shape[1])
            return Tensor(shape: spec.shape, data: try Self.filled(count, reusing: buffers.recycled(count)) { out in
                data.withUnsafeBufferPointer { src in
                    TensorLayout.transpose(src.baseAddress!, srcStride: cols, rows: rows, cols: cols, into: out.baseAddress!, dstStride: rows)
                }
            })
        case .fusedPart(let k):
            let rank = source.shape.count
            let fused: [Float]
            if let hit = buffers.fused[rank], hit.name == full {
                fused = hit.data
            } else {
                // The previous layer's c_attn of the same rank is dropped, its array reused.
                var previous = buffers.fused.removeValue(forKey: rank)?.data
                fused = try read(full, count: source.shape.reduce(1, *), reusing: previous.take())
                buffers.fused[rank] = (full, fused)
            }
            let d = config.hiddenSize
            return Tensor(shape: spec.shape, data: try Self.filled(count, reusing: buffers.recycled(count)) { out in
                fused.withUnsafeBufferPointer { src in
                    if rank == 2 {
                        TensorLayout.transpose(src.baseAddress! + k * d, srcStride: 3 * d, rows: d, cols: d, into: out.baseAddress!, dstStride: d)
                    } else {
                        _ = out.initialize(from: src[(k * d)..<((k + 1) * d)])
                    }
                }
            })
        }
    }
}

/// The folder part of a path ("" when none).
func folderOf(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "" }
    let folder = String(path[..<slash])
    return folder.isEmpty ? "/" : folder
}
