import GrowkitState
import GrowkitStorage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `growkit convert`: a Hugging Face folder or `.safetensors` file to a growkit state, and a
/// growkit state back to a Hugging Face folder (docs/HUGGINGFACE.md).
public enum HuggingFaceConversion {
    /// Whether `path` is read as a Hugging Face model: a folder, a `.safetensors` file or an index file.
    public static func isHuggingFace(_ path: String) -> Bool {
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return true }
        return path.hasSuffix(".safetensors") || path.hasSuffix(".safetensors.index.json")
    }

    /// The metadata of a converted model: a weights-only state (``CheckpointMetadata/weightsOnly(config:provenance:)``)
    /// with one provenance record.
    public static func metadata(config: ModelConfig, provenance: [ProvenanceRecord]) -> CheckpointMetadata {
        CheckpointMetadata.weightsOnly(config: config, provenance: provenance)
    }

    /// The SHA-256 of a model's bytes: of the file for a single file, else of the lines
    /// `<sha256>  <name>` of every file (config.json, index, shards), as `sha256sum` prints them.
    public static func checksum(_ model: HuggingFaceModel) throws(HuggingFaceError) -> String {
        try checksum(path: model.path, sourceFiles: model.sourceFiles)
    }

    static func checksum(path: String, sourceFiles: [String]) throws(HuggingFaceError) -> String {
        do {
            if sourceFiles.count == 2, path.hasSuffix(".safetensors") {
                return try SHA256.hex(ofFile: path)
            }
            var lines = ""
            for file in sourceFiles {
                lines += try SHA256.hex(ofFile: file) + "  " + String(file.split(separator: "/").last ?? "") + "\n"
            }
            return SHA256.hex(of: Array(lines.utf8))
        } catch {
            throw .state(error)
        }
    }

    /// Converts the Hugging Face model at `input` to a growkit state at `output` (format v1,
    /// streaming one tensor at a time). `progress(i, n)` after each parameter.
    public static func toCheckpoint(
        input: String, output: String, options: CheckpointWriter.Options = CheckpointWriter.Options(),
        toolVersion: String, progress: (Int, Int) -> Void = { _, _ in }
    ) throws(HuggingFaceError) {
        let model = try HuggingFaceModel(path: input)
        // The input's SHA-256 on a thread of its own while the tensors stream (a third of the
        // time of a GPT-2 124M conversion when it ran first); the record is completed at commit.
        let (path, files) = (model.path, model.sourceFiles)
        let digest = BackgroundResult<String, HuggingFaceError> {
            do throws(HuggingFaceError) { return .success(try checksum(path: path, sourceFiles: files)) } catch { return .failure(error) }
        }
        defer { _ = try? digest.value() }  // never exit under a thread still hashing
        var record = ProvenanceRecord(
            operatorName: "convert",
            arguments: ["from": .string("huggingface"), "architecture": .string(model.config.family == .gpt2 ? "GPT2LMHeadModel" : "LlamaForCausalLM"),
                        "dtypes": .array(Set(model.weights.files.flatMap { $0.entries.map(\.dtype.rawValue) }).sorted().map { .string($0) })],
            source: input, toolVersion: toolVersion, time: ProvenanceRecord.now())
        let writer: CheckpointWriter
        do {
            writer = try CheckpointWriter(path: output, metadata: metadata(config: model.config, provenance: [record]),
                                          options: options, inputPath: model.weights.files.first?.path, toolVersion: toolVersion)
        } catch {
            throw .state(error)
        }
        let count = model.specs.count
        var done = 0
        try model.forEachParameterPrefetching { (spec, tensor) throws(HuggingFaceError) in
            do throws(StateError) {
                try writer.write(.parameter, of: spec.name, tensor: tensor)
            } catch {
                throw .state(error)
            }
            done += 1
            progress(done, count)
        }
        record.sourceSHA256 = try digest.value()
        do {
            try writer.setProvenance([record])
            try writer.commit()
        } catch {
            throw .state(error)
        }
    }

    /// Converts the growkit state at `input` to a Hugging Face folder at `output`. Tokenizer files
    /// in the input's folder are copied unless `options.tokenizerFolder` names another.
    public static func toHuggingFace(
        input: String, output: String, options: HuggingFaceFolderWriter.Options = HuggingFaceFolderWriter.Options(),
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws(HuggingFaceError) {
        let reader: CheckpointReader
        do {
            reader = try CheckpointReader(path: input)
        } catch {
            throw .state(error)
        }
        var options = options
        if options.tokenizerFolder == nil {
            let folder = folderOf(input)
            options.tokenizerFolder = folder.isEmpty ? "." : folder
        }
        try HuggingFaceFolderWriter.write(config: reader.config, to: output, options: options, parameter: { (spec) throws(HuggingFaceError) in
            do throws(StateError) {
                return try reader.parameter(named: spec.name)
            } catch {
                throw .state(error)
            }
        }, progress: progress)
    }
}
