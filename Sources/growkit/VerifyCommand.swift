import ArgumentParser
import Foundation
import GrowkitCheckpoint
import GrowkitData
import GrowkitState
import GrowkitVerify

/// `growkit verify SMALL GROWN`: the same tokens through both models, both losses,
/// |dloss|, max |dlogit|, pass/fail against DESIGN section 6's tolerances when the
/// growth claims exactness. Thin: loads, calls ``FunctionPreservation`` (GrowkitVerify), prints.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check with a forward pass that a grown state computes its source's function.",
        discussion: """
            Runs the same tokens through SMALL and GROWN and prints both losses, |dloss| and \
            max |dlogit|. GROWN's last provenance record says whether its growth claims function \
            preservation: then the command fails (exit 1) unless max |dlogit| <= --atol and \
            |dloss| <= --loss-rtol * max(1, loss); otherwise it reports the change as by design. \
            --gradients backprops both models on the same batches instead and checks, for every \
            grown entry with a source, that the grown gradient is s times its source's and that \
            GROWN's moments carry the same s (the plan replayed from GROWN's growth record); it \
            fails when the growth claims exactness and a gradient or moment misses. --steps N \
            continues SMALL, GROWN (and with --scratch a model of GROWN's size from scratch) for N \
            updates each on --data and reports the curves, the loss at and after growth, and \
            whether the grown run spiked or stalled. Details: docs/VERIFY.md.
            """)

    @Argument(help: "The state before growth (growkit format v1).")
    var small: String

    @Argument(help: "The grown state (growkit format v1).")
    var grown: String

    @OptionGroup var tokens: VerifyTokenOptions
    @OptionGroup var tolerances: VerifyToleranceOptions

    @Flag(help: "Require preservation even when GROWN's provenance does not claim it.")
    var expectExact = false

    @Flag(help: "Check gradients and moments by backprop on both models instead of the forward pass.")
    var gradients = false

    @Flag(help: "With --gradients: one row per tensor instead of one per module kind.")
    var all = false

    @Option(help: "With --gradients: pass when |g' - s g| is at most this times the tensor's gradient RMS.")
    var gradientRtol = ToleranceValue(GradientTolerance.float32.gradient)

    @Option(help: "Continue SMALL and GROWN for this many updates each on --data and compare the curves.")
    var steps: Int?

    @Flag(help: "With --steps: also train a model of GROWN's size from scratch.")
    var scratch = false

    @Option(help: "With --steps: write each run's final state to this existing folder (source.h5, grown.h5, scratch.h5).")
    var outDir: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if gradients && steps != nil { throw ValidationError("--gradients and --steps are separate checks; pass one of them.") }
        if all && !gradients { throw ValidationError("--all needs --gradients: it lists the gradient check per tensor.") }
        if let steps {
            guard steps >= 1 && steps <= 1 << 20 else { throw ValidationError("--steps is \(steps); it must be between 1 and \(1 << 20).") }
            if tokens.data == nil { throw ValidationError("--steps needs --data: the runs train on a data file.") }
        } else if scratch || outDir != nil {
            throw ValidationError("--scratch and --out-dir need --steps.")
        }
    }

    func run() throws {
        if gradients { return try runGradients() }
        if let steps { return try runSteps(steps) }
        let smallReader = try StateSource(path: small)
        let grownReader = try StateSource(path: grown)
        let names = ModelNames(source: small, grown: grown)
        let seqLen = tokens.seqLen ?? FunctionPreservation.defaultSeqLen(smallReader.config, grownReader.config)
        // Cheap checks (family, vocabulary, positions) before any data or weight is read.
        try FunctionPreservation.checkCompatibility(source: smallReader.config, grown: grownReader.config, seqLen: seqLen, names: names)

        let (batches, input) = try loadBatches(vocabSize: smallReader.config.vocabSize, seqLen: seqLen)
        let claim = GrowthClaim(provenance: grownReader.provenance)
        var notes = claim.sizeMismatches(source: smallReader.config, grown: grownReader.config)
            .map { "\($0): \(small) may not be the state \(grown) was grown from" }
        if let expected = grownReader.provenance.last?.sourceSHA256, claim.showsGrowth,
           try smallReader.checksum() != expected {
            notes.append("the SHA-256 of \(small) differs from source_sha256 in \(grown)'s growth record: it may not be the state \(grown) was grown from")
        }

        let source = try FunctionPreservation.weights(smallReader.config, smallReader.parameters(), small)
        let grownWeights = try FunctionPreservation.weights(grownReader.config, grownReader.parameters(), grown)
        let progress = TerminalProgress(plainLines: true)
        let result = try FunctionPreservation.check(
            source: source, grown: grownWeights, batches: batches, claimedExact: claim.exact || expectExact,
            tolerance: tolerances.tolerance, names: names
        ) { step in
            progress.update(String(format: "verify batch %d/%d  max |dlogit| %.2e", step.batch, step.batches, step.maxLogitDifference),
                            fraction: Double(step.batch) / Double(step.batches))
        }
        progress.finish()

        let report = VerifyReport(small: small, grown: grown, input: input, claim: claim, expectExact: expectExact,
                                  notes: notes, result: result)
        print(json ? try JSONOutput.string(report) : report.text(smallConfig: smallReader.config, grownConfig: grownReader.config))
        if !result.passed, let exceeded = result.exceeded {
            throw VerifyError.notPreserved(grown: grown, requiredByFlag: !claim.exact, summary: exceeded)
        }
    }

    /// The batches to score and how they were made.
    func loadBatches(vocabSize: Int, seqLen: Int) throws -> ([VerificationBatch], VerifyInput) {
        guard let data = tokens.data else {
            let batches = try FunctionPreservation.randomBatches(
                vocabSize: vocabSize, count: tokens.batches, batchSize: tokens.batchSize, seqLen: seqLen, seed: tokens.seed)
            return (batches, VerifyInput(kind: "random", data: nil, format: nil, dataTokens: nil, seed: tokens.seed))
        }
        let source = try TokenSource(path: data, format: tokens.format.map { name throws(DataError) in try TokenFileFormat(name: name) })
        guard source.count >= seqLen + 1 else { throw DataError.tooShort(path: data, tokens: source.count, seqLen: seqLen) }
        try source.validate(vocabSize: vocabSize)
        var sampler = try RandomWindowSampler(source: source, batchSize: tokens.batchSize, seqLen: seqLen, seed: tokens.seed)
        var batches: [VerificationBatch] = []
        for _ in 0..<tokens.batches { batches.append(VerificationBatch(try sampler.next())) }
        return (batches, VerifyInput(kind: "data", data: data, format: source.format.description, dataTokens: source.count,
                                     seed: tokens.seed))
    }
}

/// Where the scored tokens came from.
struct VerifyInput: Encodable {
    /// `data` (windows of a data file) or `random` (seeded random token ids).
    var kind: String
    var data: String?
    var format: String?
    var dataTokens: Int?
    var seed: UInt64

    enum CodingKeys: String, CodingKey { case kind, data, format, dataTokens = "data_tokens", seed }
}

/// The `--json` record, and the text table.
struct VerifyReport: Encodable {
    var small: String
    var grown: String
    var input: VerifyInput
    var claim: GrowthClaim
    var expectExact: Bool
    var notes: [String]
    var result: FunctionPreservationResult

    enum CodingKeys: String, CodingKey { case small, grown, input, claim, expectExact = "expect_exact", notes, result }

    func text(smallConfig: ModelConfig, grownConfig: ModelConfig) -> String {
        func describe(_ c: ModelConfig) -> String {
            "\(c.family.rawValue), \(c.numLayers) layers, hidden \(c.hiddenSize), \(c.numHeads) heads, vocab \(c.vocabSize)"
        }
        let r = result
        var lines = [
            "small    \(small) (\(describe(smallConfig)))",
            "grown    \(grown) (\(describe(grownConfig)))",
        ]
        if let growth = claim.growth {
            let operators = growth.operators.isEmpty ? "growth" : growth.operators.joined(separator: " ")
            lines.append("growth   \(operators): \(growth.exact ? "claims" : "does not claim") function preservation")
        } else {
            lines.append("growth   none: \(claim.missingGrowth ?? ""), so it is treated as not claimed exact")
        }
        if expectExact && !claim.exact { lines.append("         --expect-exact: preservation is required all the same") }
        let shape = "\(r.batches) x \(r.batchSize) x \(r.seqLen) = \(r.tokens) tokens"
        if let data = input.data {
            lines.append("tokens   \(shape): random windows of \(data) (\(input.format ?? ""), \(input.dataTokens ?? 0) tokens), seed \(input.seed)")
        } else {
            lines.append("tokens   \(shape): seeded random token ids, seed \(input.seed) (no --data given)")
        }
        let l = r.maxLogitLocation
        lines.append(String(format: "loss     small %.6f  grown %.6f  |dloss| %.2e  (tolerance %.2e)",
                            r.sourceLoss, r.grownLoss, r.lossDifference, r.lossBound))
        lines.append(String(format: "logits   max |dlogit| %.2e  (tolerance %.2e) at batch %d, row %d, position %d, token %d",
                            r.maxLogitDifference, r.tolerance.logits, l.batch, l.row, l.position, l.token))
        for note in notes { lines.append("note     \(note)") }
        switch r.verdict {
        case .preserved:
            lines.append("result   PASS: the grown model computes the same function within tolerance")
        case .notPreserved:
            lines.append("result   FAIL: \(r.exceeded ?? "beyond tolerance")")
        case .changedByDesign:
            let why = claim.showsGrowth ? "the growth does not claim function preservation" : "no growth claims function preservation"
            lines.append(String(format: "result   changed by design (%@): |dloss| %.2e, max |dlogit| %.2e",
                                why, r.lossDifference, r.maxLogitDifference))
        case .preservedUnclaimed:
            lines.append("result   preserved within tolerance, though not claimed exact")
        }
        return lines.joined(separator: "\n")
    }
}
