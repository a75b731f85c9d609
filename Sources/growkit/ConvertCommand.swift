import ArgumentParser
import GrowkitCheckpoint
import GrowkitStorage

/// `growkit convert IN OUT`: Hugging Face folder or `.safetensors` file <-> growkit state.
/// Thin: the mapping lives in GrowkitCheckpoint (``HuggingFaceConversion``).
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a Hugging Face model (config.json + safetensors) to a growkit state, or a growkit state to a Hugging Face folder.",
        discussion: """
            IN a folder, a .safetensors file (config.json next to it) or a model.safetensors.index.json: \
            OUT is a weights-only growkit state (format v1: /config, /params and /provenance; train \
            --resume starts a fresh AdamW). IN a growkit state: OUT is a new folder that \
            AutoModelForCausalLM.from_pretrained loads (config.json, model.safetensors or shards with \
            an index, tokenizer files copied from IN's folder). Architectures: GPT2LMHeadModel and \
            LlamaForCausalLM. Details: docs/HUGGINGFACE.md.
            """)

    @Argument(help: "Input: Hugging Face folder, .safetensors file or index, or a growkit state.")
    var input: String

    @Argument(help: "Output: a growkit state file, or a new Hugging Face folder.")
    var output: String

    @Option(help: "Hugging Face output dtype: float32, float16 or bfloat16.")
    var dtype: String = "float32"

    @Option(help: "Hugging Face output: shard above this many bytes (default 5000000000, transformers' 5GB).")
    var maxShardBytes: Int = 5_000_000_000

    @Option(help: "growkit output: zstd level 1-22.")
    var compress: Int?

    func run() throws {
        let progress = TerminalProgress(plainLines: false)
        if HuggingFaceConversion.isHuggingFace(input) {
            try HuggingFaceConversion.toCheckpoint(
                input: input, output: output, options: CheckpointWriter.Options(zstdLevel: compress),
                toolVersion: growkitVersion
            ) { done, count in
                progress.update("convert: tensor \(done)/\(count)", fraction: Double(done) / Double(max(count, 1)))
            }
        } else {
            guard let type = SafeTensorsDType.allCases.first(where: { $0.torchName == dtype }) else {
                throw ValidationError("--dtype \(dtype) is not one of float32, float16, bfloat16.")
            }
            guard maxShardBytes > 0 else { throw ValidationError("--max-shard-bytes must be positive.") }
            try HuggingFaceConversion.toHuggingFace(
                input: input, output: output,
                options: HuggingFaceFolderWriter.Options(dtype: type, maxShardBytes: maxShardBytes)
            ) { done, count in
                progress.update("convert: tensor \(done)/\(count)", fraction: Double(done) / Double(max(count, 1)))
            }
        }
        progress.finish()
        print("wrote \(output)")
    }
}
