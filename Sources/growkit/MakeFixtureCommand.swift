import ArgumentParser
import GrowkitCheckpoint
import GrowkitState

/// `growkit make-fixture`: writes a tiny random training state (hidden; for
/// fixtures/ and tests). The content is a deterministic function of the
/// arguments (the provenance time is `--time`, default now).
struct MakeFixtureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-fixture",
        abstract: "Write a tiny random training state (weights, Adam moments, schedule, trainer, history).",
        shouldDisplay: false)

    @Option(help: "Model family: gpt2 or llama.")
    var family: ModelConfig.Family

    @Option(help: "Output checkpoint path (must not exist).")
    var out: String

    @Option(help: "Seed of every random value.")
    var seed: UInt64 = 0

    @Option(help: "zstd level (1-22); omit for no compression.")
    var zstd: Int?

    @Flag(help: "Store parameters as bfloat16 (moments stay float32).")
    var bf16 = false

    @Option(help: ArgumentHelp("Hidden size (default 32).", visibility: .hidden))
    var hiddenSize = 32

    @Option(help: ArgumentHelp("Number of layers (default 2).", visibility: .hidden))
    var numLayers = 2

    @Option(help: "ISO 8601 UTC time recorded in the provenance record (default: now).")
    var time: String?

    func run() throws {
        let config = RandomState.tinyConfig(family, hiddenSize: hiddenSize, numLayers: numLayers)
        var arguments: [String: JSONValue] = [
            "family": .string(family.rawValue), "seed": .number(Double(seed)), "bf16": .bool(bf16),
            "zstd": zstd.map { .number(Double($0)) } ?? .null,
        ]
        if hiddenSize != 32 { arguments["hidden_size"] = .number(Double(hiddenSize)) }
        if numLayers != 2 { arguments["num_layers"] = .number(Double(numLayers)) }
        let metadata = RandomState.fixtureMetadata(
            config: config, seed: seed, arguments: arguments, toolVersion: growkitVersion,
            time: time ?? ProvenanceRecord.now())
        let writer = try CheckpointWriter(
            path: out, metadata: metadata, options: .init(zstdLevel: zstd, parametersAsBFloat16: bf16),
            toolVersion: growkitVersion)
        // One parameter at a time: memory stays at one tensor and its moments.
        for (index, spec) in config.parameters().enumerated() {
            let (value, moments) = RandomState.parameter(spec, index: index, seed: seed)
            try writer.write(parameter: spec.name, value: value, state: moments)
        }
        try writer.commit()
        print("wrote \(out): \(config.family.rawValue), \(config.parameterCount) parameters")
    }
}

extension ModelConfig.Family: ExpressibleByArgument {}
