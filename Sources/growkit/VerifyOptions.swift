import ArgumentParser
import GrowkitVerify

/// A tolerance on the command line: a finite number >= 0 (`1e-4`, `0.001`).
struct ToleranceValue: ExpressibleByArgument, Sendable {
    var value: Double

    init?(argument: String) {
        guard let value = Double(argument), value.isFinite, value >= 0 else { return nil }
        self.value = value
    }

    init(_ value: Double) { self.value = value }

    var defaultValueDescription: String { "\(value)" }
}

/// The tokens `verify` scores: a data file's seeded random windows, or seeded
/// random token ids without `--data`.
struct VerifyTokenOptions: ParsableArguments {
    @Option(help: "Data file: text (bytes), zstd-compressed text, or uint16 tokens (.bin). Without it: seeded random token ids.")
    var data: String?

    @Option(help: "Data format, overriding detection (with --data).")
    var format: String?

    @Option(help: "Number of batches.")
    var batches: Int = FunctionPreservation.defaultBatchCount

    @Option(help: "Rows per batch.")
    var batchSize: Int = FunctionPreservation.defaultBatchSize

    @Option(help: "Tokens per row (default: min(64, max_position of both models)).")
    var seqLen: Int?

    @Option(help: "Seed of the window sampler (with --data) or of the random token ids.")
    var seed: UInt64 = 0

    func validate() throws {
        if format != nil && data == nil { throw ValidationError("--format needs --data: it names the format of the data file.") }
        guard batches >= 1 && batches <= 1 << 20 else { throw ValidationError("--batches is \(batches); it must be between 1 and \(1 << 20).") }
        guard batchSize >= 1 && batchSize <= 1 << 20 else { throw ValidationError("--batch-size is \(batchSize); it must be between 1 and \(1 << 20).") }
        if let seqLen, seqLen < 1 || seqLen > 1 << 24 { throw ValidationError("--seq-len is \(seqLen); it must be between 1 and \(1 << 24).") }
    }
}

/// DESIGN section 6's tolerances, overridable.
struct VerifyToleranceOptions: ParsableArguments {
    @Option(help: "Pass when max |dlogit| is at most this (absolute).")
    var atol = ToleranceValue(FunctionPreservationTolerance.float32.logits)

    @Option(help: "Pass when |dloss| is at most this times max(1, loss of SMALL).")
    var lossRtol = ToleranceValue(FunctionPreservationTolerance.float32.loss)

    var tolerance: FunctionPreservationTolerance { FunctionPreservationTolerance(logits: atol.value, loss: lossRtol.value) }
}
