import ArgumentParser
import Foundation
import GrowkitData
import GrowkitModel
import GrowkitCheckpoint
import GrowkitState
import GrowkitTraining

/// `growkit eval CKPT --data FILE`: mean loss and perplexity on seeded random windows.
/// Thin: parsing, loading and printing; the loop is ``Evaluator`` (GrowkitTraining).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Mean loss and perplexity of a checkpoint's model on a data file.",
        discussion: """
            Scores BATCHES batches of B x T windows drawn at random (seeded, so repeatable) \
            from the data file: mean next-token cross-entropy in nats, and perplexity = exp(loss). \
            Data formats and batch semantics: docs/DATA.md.
            """)

    enum Split: String, ExpressibleByArgument, CaseIterable {
        case all, train, validation
    }

    @Argument(help: "Checkpoint in growkit format v1 (HDF5).")
    var checkpoint: String

    @Option(help: "Data file: text (bytes), zstd-compressed text, or uint16 tokens (.bin).")
    var data: String

    @Option(help: "Data format, overriding detection: \(TokenFileFormat.names.joined(separator: ", ")).")
    var format: String?

    @Option(help: "Part of the data: all, or train / validation (the first 90% / last 10% of tokens).")
    var split: Split = .all

    @Option(parsing: .unconditional, help: "Number of batches.")
    var batches: Int = 20

    @Option(parsing: .unconditional, help: "Rows per batch (default: the checkpoint's trainer batch_size, else 8).")
    var batchSize: Int?

    @Option(parsing: .unconditional, help: "Tokens per row (default: the checkpoint's trainer seq_len, else min(64, max_position)).")
    var seqLen: Int?

    @Option(parsing: .unconditional, help: "Seed of the window sampler.")
    var seed: UInt64 = 0

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        // A growkit state, or a Hugging Face folder or .safetensors file (weights only).
        let reader = try StateSource(path: checkpoint)
        let config = reader.config
        let trainer = reader.isWeightsOnly ? nil : reader.metadata.trainer
        let settings = EvaluationSettings(
            batches: batches,
            batchSize: batchSize ?? (trainer.map { $0.batchSize > 0 ? $0.batchSize : 8 } ?? 8),
            seqLen: seqLen ?? (trainer.map { $0.seqLen > 0 ? $0.seqLen : min(64, config.maxPosition) } ?? min(64, config.maxPosition)),
            seed: seed)

        var source = try TokenSource(path: data, format: format.map { name throws(DataError) in try TokenFileFormat(name: name) })
        switch split {
        case .all: break
        case .train: source = try source.split(validationFraction: 0.1).train
        case .validation: source = try source.split(validationFraction: 0.1).validation
        }
        // Cheap checks (length, positions, vocabulary) before the weights are read.
        try Evaluator.checkCompatibility(config: config, checkpoint: checkpoint, data: source, settings: settings)

        // Weights as read, packed for the forward pass, and the activations: refused
        // with the size it needs when that cannot fit (a sparse file can declare any model).
        let (activations, overflow) = Evaluator.activationBytes(config: config, settings: settings)
            .addingReportingOverflow(2 * reader.parameterBytes)
        try reader.requireMemory(overflow ? Int.max : activations,
                                 for: "evaluating this model (weights twice, activations of \(settings.batchSize) x \(settings.seqLen) tokens)")
        let parameters = try reader.parameters()
        let weights: ModelWeights
        do { weights = try ModelWeights(config: config, parameters: parameters) } catch {
            throw EvaluationError.model(checkpoint: checkpoint, message: error.description)
        }

        let progress = TerminalProgress(plainLines: true)
        let result = try Evaluator.evaluate(weights: weights, checkpoint: checkpoint, data: source, settings: settings) {
            progress.update($0)
        }
        progress.finish()

        if json {
            let report = EvalReport(checkpoint: checkpoint, data: data, format: source.format.description, split: split.rawValue,
                                    dataTokens: source.count, result: result)
            print(try JSONOutput.string(report))
        } else {
            let s = result.settings
            print("checkpoint  \(checkpoint) (\(config.family.rawValue), \(config.numLayers) layers, hidden \(config.hiddenSize), vocab \(config.vocabSize))")
            print("data        \(data) (\(source.format), \(source.count) tokens, split \(split.rawValue))")
            print("batches     \(s.batches) x \(s.batchSize) x \(s.seqLen) = \(result.tokens) tokens, seed \(s.seed)")
            print("loss        \(String(format: "%.6f", result.meanLoss)) nats/token")
            print(result.perplexity.isFinite
                  ? "perplexity  \(String(format: "%.4f", result.perplexity))"
                  : "perplexity  not reported: exp(\(String(format: "%.6f", result.meanLoss))) overflows float64 (above 709.78 nats the perplexity exceeds 1.8e308)")
        }
    }
}

/// The `--json` record: settings, result and the inputs that produced it.
private struct EvalReport: Encodable {
    var checkpoint: String
    var data: String
    var format: String
    var split: String
    var dataTokens: Int
    var result: EvaluationResult

    enum CodingKeys: String, CodingKey {
        case checkpoint, data, format, split, dataTokens = "data_tokens", batches, batchSize = "batch_size", seqLen = "seq_len",
             seed, meanLoss = "mean_loss", perplexity, batchLosses = "batch_losses", tokens, seconds,
             tokensPerSecond = "tokens_per_second", perplexityNote = "perplexity_note"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(checkpoint, forKey: .checkpoint)
        try c.encode(data, forKey: .data)
        try c.encode(format, forKey: .format)
        try c.encode(split, forKey: .split)
        try c.encode(dataTokens, forKey: .dataTokens)
        try c.encode(result.settings.batches, forKey: .batches)
        try c.encode(result.settings.batchSize, forKey: .batchSize)
        try c.encode(result.settings.seqLen, forKey: .seqLen)
        try c.encode(result.settings.seed, forKey: .seed)
        try c.encode(result.meanLoss, forKey: .meanLoss)
        // exp(loss) overflows above 709.78 nats: null with the reason, never a failed
        // encoding after every batch has run.
        if result.perplexity.isFinite {
            try c.encode(result.perplexity, forKey: .perplexity)
        } else {
            try c.encodeNil(forKey: .perplexity)
            try c.encode("exp(mean_loss) overflows float64", forKey: .perplexityNote)
        }
        try c.encode(result.batchLosses, forKey: .batchLosses)
        try c.encode(result.tokens, forKey: .tokens)
        try c.encode(result.seconds, forKey: .seconds)
        try c.encode(result.tokensPerSecond, forKey: .tokensPerSecond)
    }
}
