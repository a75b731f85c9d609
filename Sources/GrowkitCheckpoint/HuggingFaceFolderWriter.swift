import GrowkitState
import GrowkitStorage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a growkit model as a Hugging Face folder that `AutoModelForCausalLM.from_pretrained`
/// loads: config.json (``HuggingFaceConfig/json(for:dtype:file:)``), `model.safetensors` or
/// shards with `model.safetensors.index.json`, and tokenizer files copied from a source folder.
///
/// Everything is written into `.<name>.tmp-<pid>-<random>` next to the destination, which is
/// renamed onto the destination (that must not exist) only when complete: a failure leaves no
/// output. Tensors are pulled one Hugging Face tensor at a time from `parameter` (GPT-2's
/// `c_attn` pulls q, k and v), so memory stays a few times the largest tensor.
public enum HuggingFaceFolderWriter {
    public struct Options: Sendable, Hashable {
        /// The dtype of every stored tensor.
        public var dtype: SafeTensorsDType
        /// Shard when the weights pass this many bytes (transformers' default is 5 GB).
        public var maxShardBytes: Int
        /// Folder to copy tokenizer files from (`tokenizer.json`, `vocab.json`, ...), if any.
        public var tokenizerFolder: String?

        public init(dtype: SafeTensorsDType = .f32, maxShardBytes: Int = 5_000_000_000, tokenizerFolder: String? = nil) {
            self.dtype = dtype
            self.maxShardBytes = maxShardBytes
            self.tokenizerFolder = tokenizerFolder
        }
    }

    /// Files copied from `tokenizerFolder` when present.
    public static let tokenizerFiles = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
        "tokenizer.model", "added_tokens.json", "generation_config.json",
    ]

    /// The Hugging Face tensors of `config` in the order written, each with the growkit parameters it is made of.
    public static func layout(_ config: ModelConfig) -> [(name: String, shape: [Int], sources: [ParameterSpec])] {
        let prefix = HuggingFaceSource.prefix(config.family)
        var out: [(name: String, shape: [Int], sources: [ParameterSpec])] = []
        var position: [String: Int] = [:]
        for spec in config.parameters() {
            let source = HuggingFaceSource.of(spec, config)
            let full = (source.prefixed ? prefix : "") + source.name
            if let i = position[full] {
                out[i].sources.append(spec)
            } else {
                position[full] = out.count
                out.append((full, source.shape, [spec]))
            }
        }
        return out
    }

    /// Writes the folder `destination`. `extraFiles` is called once the weights are written
    /// and gives more files (name, bytes) to write beside config.json (`grow`'s provenance).
    public static func write(
        config: ModelConfig, to destination: String, options: Options = Options(),
        parameter: (ParameterSpec) throws(HuggingFaceError) -> Tensor,
        extraFiles: () throws(HuggingFaceError) -> [(name: String, bytes: [UInt8])] = { () throws(HuggingFaceError) in [] },
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws(HuggingFaceError) {
        let configJSON = try HuggingFaceConfig.json(for: config, dtype: options.dtype, file: destination)
        var trimmed = destination
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard access(trimmed, F_OK) != 0 else {
            throw .invalidPath(path: trimmed, problem: "already exists; choose a new output folder (growkit never overwrites)")
        }
        let parent = folderOf(trimmed)
        let name = String(trimmed.split(separator: "/").last ?? Substring(trimmed))
        var random = SystemRandomNumberGenerator()
        let temporary = (parent.isEmpty ? "" : parent + "/") + ".\(name).tmp-\(getpid())-\(String(random.next() & 0xFFFF_FFFF, radix: 16))"
        guard mkdir(temporary, 0o755) == 0 else {
            throw .invalidPath(path: temporary, problem: "cannot create the temporary output folder (\(String(cString: strerror(errno)))); check the parent folder exists and is writable")
        }
        var committed = false
        defer { if !committed { removeFolder(temporary) } }

        let tensors = layout(config)
        do {
            let writer = try SafeTensorsShardedWriter(
                folder: temporary,
                tensors: tensors.map { SafeTensorsWriter.Declaration(name: $0.name, dtype: options.dtype, shape: $0.shape) },
                maxShardBytes: options.maxShardBytes)
            for (index, tensor) in tensors.enumerated() {
                let data = try hfTensor(tensor.sources, config: config, parameter: parameter)
                try data.withUnsafeBufferPointer { (buffer) throws(SafeTensorsError) in try writer.write(buffer) }
                progress(index + 1, tensors.count)
            }
            try writer.commit()
            try AtomicFile.write(Array((configJSON.serialized + "\n").utf8), to: temporary + "/config.json")
            for file in try extraFiles() {
                try AtomicFile.write(file.bytes, to: temporary + "/" + file.name)
            }
            if let folder = options.tokenizerFolder {
                for file in tokenizerFiles where access(folder + "/" + file, R_OK) == 0 {
                    let bytes = try SafeTensorsShards.readSmallFile(folder + "/" + file, bound: 1 << 30)
                    try AtomicFile.write(bytes, to: temporary + "/" + file)
                }
            }
        } catch let error as SafeTensorsError {
            throw .safetensors(error)
        } catch let error as HuggingFaceError {
            throw error
        } catch {
            throw .invalidPath(path: destination, problem: "\(error)")
        }
        guard access(trimmed, F_OK) != 0 else {
            throw .invalidPath(path: trimmed, problem: "appeared while writing; choose a new output folder")
        }
        guard rename(temporary, trimmed) == 0 else {
            throw .invalidPath(path: trimmed, problem: "renaming \(temporary) onto it failed (\(String(cString: strerror(errno))))")
        }
        committed = true
        let fd = open(parent.isEmpty ? "." : parent, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// The Hugging Face tensor made of growkit parameters `sources`.
    static func hfTensor(_ sources: [ParameterSpec], config: ModelConfig,
                        parameter: (ParameterSpec) throws(HuggingFaceError) -> Tensor) throws(HuggingFaceError) -> [Float] {
        let first = sources[0]
        let source = HuggingFaceSource.of(first, config)
        switch source.transform {
        case .copy:
            return try parameter(first).data
        case .transpose:
            return TensorLayout.transposed(try parameter(first).data, rows: first.shape[0], cols: first.shape[1])
        case .fusedPart:
            let d = config.hiddenSize
            if source.shape.count == 1 {
                var out: [Float] = []
                out.reserveCapacity(3 * d)
                for spec in sources { out += try parameter(spec).data }
                return out
            }
            // c_attn weight [d, 3d]: column block k is part k ([d, d], [out, in]) transposed.
            var out = [Float](repeating: 0, count: d * 3 * d)
            for (k, spec) in sources.enumerated() {
                let part = try parameter(spec).data
                out.withUnsafeMutableBufferPointer { o in
                    part.withUnsafeBufferPointer { p in
                        TensorLayout.transpose(p.baseAddress!, srcStride: d, rows: d, cols: d,
                                               into: o.baseAddress! + k * d, dstStride: 3 * d)
                    }
                }
            }
            return out
        }
    }

    /// Removes a folder this writer created and the files in it (no recursion below).
    static func removeFolder(_ path: String) {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}
