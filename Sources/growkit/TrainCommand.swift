import ArgumentParser
import Foundation
import GrowkitData
import GrowkitState
import GrowkitTraining

/// `growkit train`: a new run from a model config, or `--resume CKPT`. Thin: parsing and printing;
/// the loop is ``Trainer`` (GrowkitTraining).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from a config (new run) or continue a checkpoint (--resume).",
        discussion: """
            Reads the data in order from the checkpoint's data cursor (in tokens), holds out the last \
            --validation fraction for evaluation, and writes the checkpoint --out every --save-every \
            steps and at the end (atomically: the previous file stays until the new one is complete). \
            --steps is the trainer's step count to reach, --tokens the tokens seen to reach.
            """)

    @Option(help: "Model config JSON (schemas/model-config-v1.schema.json) for a new run; with --resume it must match.")
    var config: String?

    @Option(help: "Checkpoint to continue.")
    var resume: String?

    @Option(help: "Data file: text (bytes), zstd-compressed text, or uint16 tokens (.bin).")
    var data: String

    @Option(help: "Data format, overriding detection: \(TokenFileFormat.names.joined(separator: ", ")).")
    var format: String?

    @Option(help: "Fraction of the data held out for evaluation (its last tokens).")
    var validation: Double = 0.1

    @Option(help: "Checkpoint to write.")
    var out: String

    @Option(help: "Rows per micro-batch (default: the checkpoint's, else 8).")
    var batchSize: Int?

    @Option(help: "Tokens per row (default: the checkpoint's, else min(128, max_position)).")
    var seqLen: Int?

    @Option(help: "Micro-batches per update (gradient accumulation).")
    var accumulate: Int = 1

    @Option(help: "Train until the trainer's step count reaches this.")
    var steps: Int?

    @Option(help: "Train until the tokens seen reach this.")
    var tokens: Int?

    @Option(help: "Evaluate on the held-out split every K steps.")
    var evalEvery: Int?

    @Option(help: "Batches per evaluation.")
    var evalBatches: Int = 4

    @Option(help: "Save the checkpoint every N steps.")
    var saveEvery: Int?

    @Option(help: "Schedule kind: constant, linear, cosine, wsd.")
    var schedule: String?

    @Option(help: "Peak learning rate.") var lr: Double?
    @Option(help: "Final learning rate.") var minLr: Double?
    @Option(help: "Warmup steps.") var warmup: Int?
    @Option(help: "Total steps of the schedule (default: --steps).") var totalSteps: Int?
    @Option(help: "Decay steps of a wsd schedule.") var decaySteps: Int?
    @Option(help: "Start of a re-warmup segment.") var rewarmStart: Int?
    @Option(help: "Length of the re-warmup segment.") var rewarmSteps: Int?
    @Option(help: "AdamW beta1.") var beta1: Double?
    @Option(help: "AdamW beta2.") var beta2: Double?
    @Option(help: "AdamW eps.") var eps: Double?
    @Option(help: "Decoupled weight decay (matrices only).") var weightDecay: Double?
    @Option(help: "Clip the global gradient norm to this; 0 turns clipping off.") var clip: Double = 1.0

    @Option(help: "Seed of the initial weights (new run).")
    var seed: UInt64 = 0

    @Option(help: "all, or new: only the tensors the last growth added (the rest frozen).")
    var trainOnly: String = "all"

    @Option(help: "zstd level for the checkpoint's tensors (default: uncompressed).")
    var zstd: Int?

    @Flag(help: "Print a JSON summary at the end.")
    var json = false

    func run() throws {
        let start: TrainingPlan.Start
        switch (config, resume) {
        case (let path?, nil):
            start = .new(config: try ModelConfigFile.read(path: path), seed: seed)
        case (let path, let checkpoint?):
            start = .resume(path: checkpoint, config: try path.map { p throws(TrainingError) in try ModelConfigFile.read(path: p) })
        case (nil, nil):
            throw TrainingError.invalidOption(name: "the run", value: "unspecified", requirement: "given by --config FILE (new run) or --resume CKPT")
        }
        var plan = TrainingPlan(start: start, dataPath: data, outputPath: out)
        plan.dataFormat = try format.map { name throws(DataError) in try TokenFileFormat(name: name) }
        plan.validationFraction = validation
        plan.batchSize = batchSize
        plan.seqLen = seqLen
        plan.accumulation = accumulate
        plan.steps = steps
        plan.tokens = tokens
        plan.evalEvery = evalEvery
        plan.evalBatches = evalBatches
        plan.saveEvery = saveEvery
        if let schedule {
            guard let kind = Schedule.Kind(rawValue: schedule) else {
                throw TrainingError.invalidOption(name: "--schedule", value: schedule, requirement: "one of constant, linear, cosine, wsd")
            }
            plan.scheduleChanges.kind = kind
        }
        plan.scheduleChanges.peakLR = lr
        plan.scheduleChanges.minLR = minLr
        plan.scheduleChanges.warmupSteps = warmup
        plan.scheduleChanges.totalSteps = totalSteps
        plan.scheduleChanges.decaySteps = decaySteps
        plan.scheduleChanges.rewarmStart = rewarmStart
        plan.scheduleChanges.rewarmSteps = rewarmSteps
        plan.optimizerChanges.beta1 = beta1
        plan.optimizerChanges.beta2 = beta2
        plan.optimizerChanges.eps = eps
        plan.optimizerChanges.weightDecay = weightDecay
        plan.maxGradNorm = clip == 0 ? nil : clip
        guard let only = TrainingPlan.TrainOnly(rawValue: trainOnly) else {
            throw TrainingError.invalidOption(name: "--train-only", value: trainOnly, requirement: "all or new")
        }
        plan.trainOnly = only
        plan.zstdLevel = zstd
        plan.toolVersion = "growkit \(growkitVersion)"

        let progress = TerminalProgress(plainLines: !json)
        let summary = try Trainer.run(plan) { event in
            switch event {
            case .step(let outcome, let seen, let rate, let left, let fraction):
                let eta = left.map { String(format: "%.0f s", $0) } ?? "-"
                progress.update(String(format: "step %d  loss %.4f  lr %.3e  %d tok/s  tokens %d  ETA %@", outcome.step,
                                       outcome.loss, outcome.lr, Int(rate.rounded()), seen, eta),
                                fraction: fraction)
            case .evaluated(let step, let loss):
                progress.finish()
                if !json { FileHandle.standardError.write(Data(String(format: "eval step %d  validation loss %.4f\n", step, loss).utf8)) }
            case .saved(let path, let step):
                progress.finish()
                if !json { FileHandle.standardError.write(Data("saved \(path) at step \(step)\n".utf8)) }
            }
        }
        progress.finish()
        if json {
            print(try JSONOutput.string(summary))
        } else {
            print("checkpoint  \(summary.checkpoint)")
            print("steps       \(summary.firstStep) -> \(summary.lastStep), tokens seen \(summary.tokensSeen)")
            if let loss = summary.finalLoss { print(String(format: "loss        %.6f (last step)", loss)) }
            if let loss = summary.validationLoss { print(String(format: "validation  %.6f", loss)) }
            print(String(format: "speed       %.0f tokens/s over %.1f s", summary.tokensPerSecond, summary.seconds))
        }
    }
}
