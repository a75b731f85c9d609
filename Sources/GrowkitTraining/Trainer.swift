import Foundation
import GrowkitCheckpoint
import GrowkitData
import GrowkitModel
import GrowkitRandom
import GrowkitState

/// The bundled trainer's loop (`growkit train`, docs/TRAINING.md): load or initialise a state,
/// read batches in order from the data cursor, step, evaluate, save; the numbers go to the caller
/// as ``TrainingEvent``s, nothing is printed here.
public enum Trainer {
    /// Runs `plan` to its end, saving every `saveEvery` steps and at the end.
    /// - Throws: ``TrainingError`` naming the file, option or step; the previous checkpoint at
    ///   `outputPath` is untouched by any failure (writes are atomic).
    public static func run(_ plan: TrainingPlan, progress: (TrainingEvent) -> Void = { _ in })
        throws(TrainingError) -> TrainingSummary
    {
        var state = try initialState(plan)
        let B = plan.batchSize ?? state.trainer.batchSize, T = plan.seqLen ?? state.trainer.seqLen
        let A = plan.accumulation
        try checkOptions(plan, batchSize: B, seqLen: T, config: state.config, schedule: state.schedule,
                         optimizer: state.optimizer)
        try checkOutput(plan)

        let source: TokenSource, train: TokenSource, validation: TokenSource
        do {
            source = try TokenSource(path: plan.dataPath, format: plan.dataFormat)
            try source.validate(vocabSize: state.config.vocabSize)
            (train, validation) = try source.split(validationFraction: plan.validationFraction)
        } catch { throw .data(error) }
        // One step reads A x B rows of T + 1 tokens, consecutive rows sharing a token.
        let needed = A * B * T + 1
        guard train.count >= needed else {
            throw .dataTooShort(path: plan.dataPath, tokens: train.count, needed: needed, batchSize: A * B, seqLen: T)
        }
        var sampler: SequentialSampler
        do {
            sampler = try SequentialSampler(source: train, batchSize: B, seqLen: T, cursor: state.trainer.dataCursor)
        } catch { throw .data(error) }

        var optimizer = AdamWOptimizer(config: state.config, hyperparameters: state.optimizer, states: state.optimizerState)
        if plan.trainOnly == .new {
            optimizer.trainable = try newTensors(state, path: resumePath(plan) ?? "the new run", layout: optimizer.layout)
        }
        let stepper: TrainingStepper
        do {
            // The packed weights go straight into the stepper (no second owner), so the first update
            // does not copy them.
            stepper = try TrainingStepper(weights: ModelWeights(config: state.config, parameters: state.parameters),
                                          optimizer: optimizer, schedule: state.schedule,
                                          maxGradNorm: plan.maxGradNorm, step: state.trainer.step, batchSize: B,
                                          seqLen: T, accumulation: A)
        } catch { throw .model(error) }
        state.parameters = [:]
        state.optimizerState = [:]

        let tokensPerStep = A * B * T
        let firstStep = state.trainer.step
        let lastStep = targetStep(plan, from: state.trainer, schedule: state.schedule, tokensPerStep: tokensPerStep)
        guard lastStep > firstStep else {
            let (name, value) = plan.steps.map { ("--steps", "\($0)") }
                ?? plan.tokens.map { ("--tokens", "\($0)") } ?? ("the schedule's total_steps", "\(state.schedule.totalSteps)")
            throw .invalidOption(name: name, value: value,
                                 requirement: "beyond where the run stands (step \(firstStep), \(state.trainer.tokensSeen) tokens seen): it counts in total, not additional, so pass a larger value")
        }
        let clock = ContinuousClock()
        let start = clock.now
        var lastSaved: String? = FileManager.default.fileExists(atPath: plan.outputPath) ? plan.outputPath : nil
        var finalLoss: Double?, validationLoss: Double?
        while stepper.stepsTaken < lastStep {
            for a in 0..<A {
                let batch: TokenBatch
                do { batch = try sampler.next() } catch { throw .data(error) }
                stepper.inputs[a] = batch.inputs
                stepper.targets[a] = batch.targets
            }
            let outcome: StepOutcome
            do { outcome = try stepper.step() } catch {
                switch error {
                case .nonFiniteLoss(let step, let loss, _): throw .nonFiniteLoss(step: step, loss: loss, lastCheckpoint: lastSaved)
                case .nonFiniteGradient(let step, _): throw .nonFiniteGradient(step: step, lastCheckpoint: lastSaved)
                default: throw error
                }
            }
            state.trainer.step = outcome.step
            state.trainer.tokensSeen += tokensPerStep
            state.trainer.dataCursor = sampler.cursor
            state.trainer.batchSize = B
            state.trainer.seqLen = T
            state.history.append(step: outcome.step, loss: outcome.loss, lr: outcome.lr, tokens: state.trainer.tokensSeen)
            finalLoss = outcome.loss
            let seconds = (clock.now - start).seconds
            let done = outcome.step - firstStep
            let rate = seconds > 0 ? Double(done * tokensPerStep) / seconds : 0
            let left = done > 0 ? seconds / Double(done) * Double(lastStep - outcome.step) : nil
            progress(.step(outcome, tokensSeen: state.trainer.tokensSeen, tokensPerSecond: rate, secondsLeft: left,
                           fraction: Double(done) / Double(max(lastStep - firstStep, 1))))
            if let k = plan.evalEvery, outcome.step % k == 0 || outcome.step == lastStep {
                validationLoss = try evaluate(stepper.weights, on: validation, plan: plan, seqLen: T, batchSize: B)
                progress(.evaluated(step: outcome.step, loss: validationLoss!))
            }
            if let n = plan.saveEvery, outcome.step % n == 0, outcome.step != lastStep {
                try save(state, stepper, to: plan)
                lastSaved = plan.outputPath
                progress(.saved(path: plan.outputPath, step: outcome.step))
            }
        }
        try save(state, stepper, to: plan)
        progress(.saved(path: plan.outputPath, step: stepper.stepsTaken))
        let seconds = (clock.now - start).seconds
        let trained = (stepper.stepsTaken - firstStep) * tokensPerStep
        return TrainingSummary(checkpoint: plan.outputPath, firstStep: firstStep, lastStep: stepper.stepsTaken,
                               tokensSeen: state.trainer.tokensSeen, finalLoss: finalLoss, validationLoss: validationLoss,
                               seconds: seconds, tokensPerSecond: seconds > 0 ? Double(trained) / seconds : 0)
    }

    /// The step to stop at: `--steps` (an absolute step count), `--tokens` (tokens seen), or the schedule's end.
    static func targetStep(_ plan: TrainingPlan, from position: TrainerPosition, schedule: Schedule,
                           tokensPerStep: Int) -> Int {
        var target = plan.steps ?? Int.max
        if let tokens = plan.tokens {
            let more = max(0, tokens - position.tokensSeen)
            target = min(target, position.step + (more + tokensPerStep - 1) / tokensPerStep)
        }
        return target == Int.max ? schedule.totalSteps : target
    }

    /// The checkpoint's state (resume) or a fresh one (new run), with the plan's overrides.
    static func initialState(_ plan: TrainingPlan) throws(TrainingError) -> TrainingState {
        var state: TrainingState
        switch plan.start {
        case .resume(let path, let config):
            do { state = try CheckpointReader(path: path).readAll() } catch { throw .checkpoint(error) }
            if let config, config != state.config {
                throw .contradictsCheckpoint(path: path, option: "--config",
                                             detail: "it describes another model shape (\(difference(config, state.config)))")
            }
            if state.weightsOnly {
                // Nothing to resume but the weights: a fresh AdamW (readAll's zero moments, step 0)
                // with a new run's defaults for the optimizer, schedule and trainer, then the options.
                let fresh = freshMetadata(config: state.config, seed: 0, plan: plan, provenance: state.provenance)
                state.optimizer = fresh.optimizer
                state.schedule = fresh.schedule
                state.trainer = fresh.trainer
                state.history = TrainingHistory()
                state.weightsOnly = false
            }
        case .new(let config, let seed):
            state = freshState(config: config, seed: seed, plan: plan)
        }
        state.schedule = plan.scheduleChanges.applied(to: state.schedule)
        state.optimizer = plan.optimizerChanges.applied(to: state.optimizer)
        return state
    }

    static func resumePath(_ plan: TrainingPlan) -> String? {
        if case .resume(let path, _) = plan.start { return path }
        return nil
    }

    /// The first field in which two configs differ, as `name a vs b`.
    static func difference(_ a: ModelConfig, _ b: ModelConfig) -> String {
        let pairs: [(String, String, String)] = [
            ("family", a.family.rawValue, b.family.rawValue), ("vocab_size", "\(a.vocabSize)", "\(b.vocabSize)"),
            ("hidden_size", "\(a.hiddenSize)", "\(b.hiddenSize)"), ("num_layers", "\(a.numLayers)", "\(b.numLayers)"),
            ("num_heads", "\(a.numHeads)", "\(b.numHeads)"), ("num_kv_heads", "\(a.numKVHeads)", "\(b.numKVHeads)"),
            ("head_dim", "\(a.headDim)", "\(b.headDim)"),
            ("intermediate_size", "\(a.intermediateSize)", "\(b.intermediateSize)"),
            ("max_position", "\(a.maxPosition)", "\(b.maxPosition)"),
        ]
        for (name, x, y) in pairs where x != y { return "\(name) \(x) vs the checkpoint's \(y)" }
        return "norm, activation, position or bias flags differ"
    }

    /// A new run's state at step 0, as `growkit train --config` starts it: GPT-2-style
    /// weights from `seed`, zero moments, the default cosine schedule for `plan`'s length,
    /// the data cursor at 0, an `init` provenance record.
    public static func freshState(config: ModelConfig, seed: UInt64, plan: TrainingPlan) -> TrainingState {
        let parameters = ModelInitialization.gpt2Style(config: config, seed: seed)
        var moments: [String: AdamParameterState] = [:]
        for spec in config.parameters() {
            moments[spec.name] = AdamParameterState(freshFor: spec.shape, applyWeightDecay: spec.defaultWeightDecay)
        }
        let record = ProvenanceRecord(operatorName: "init", arguments: ["seed": .number(Double(seed)), "init": .string("gpt2")],
                                      toolVersion: plan.toolVersion, time: ProvenanceRecord.now())
        return TrainingState(metadata: freshMetadata(config: config, seed: seed, plan: plan, provenance: [record]),
                             parameters: parameters, optimizerState: moments)
    }

    /// A new run's optimizer, schedule (cosine to --steps) and trainer position, before the plan's changes.
    static func freshMetadata(config: ModelConfig, seed: UInt64, plan: TrainingPlan,
                              provenance: [ProvenanceRecord]) -> CheckpointMetadata {
        let B = plan.batchSize ?? 8, T = plan.seqLen ?? min(128, config.maxPosition)
        let steps = plan.steps ?? plan.tokens.map { ($0 + B * T * plan.accumulation - 1) / (B * T * plan.accumulation) } ?? 1000
        let schedule = Schedule(kind: .cosine, peakLR: 1e-3, minLR: 1e-4, warmupSteps: min(100, steps / 10),
                                totalSteps: steps)
        let trainer = TrainerPosition(
            step: 0, tokensSeen: 0, batchSize: B, seqLen: T, seed: Int(truncatingIfNeeded: seed & UInt64(Int64.max)),
            dataCursor: 0, rngState: Xoshiro256StarStar(seed: seed).stateBytes, generator: Xoshiro256StarStar.generatorName)
        return CheckpointMetadata(
            config: config, optimizer: AdamWHyperparameters(lr: 0, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1),
            schedule: schedule, trainer: trainer, history: TrainingHistory(), provenance: provenance)
    }

    static func checkOptions(_ plan: TrainingPlan, batchSize B: Int, seqLen T: Int, config: ModelConfig,
                             schedule: Schedule, optimizer: AdamWHyperparameters) throws(TrainingError)
    {
        func positive(_ name: String, _ value: Int?) throws(TrainingError) {
            if let value, value < 1 { throw .invalidOption(name: name, value: "\(value)", requirement: "a positive integer") }
        }
        try positive("--batch-size", B)
        try positive("--seq-len", T)
        try positive("--accumulate", plan.accumulation)
        try positive("--steps", plan.steps)
        try positive("--tokens", plan.tokens)
        try positive("--eval-every", plan.evalEvery)
        try positive("--save-every", plan.saveEvery)
        try positive("--eval-batches", plan.evalBatches)
        if config.position == .learned && T > config.maxPosition {
            throw .invalidOption(name: "--seq-len", value: "\(T)",
                                 requirement: "at most max_position \(config.maxPosition) for this learned-position model")
        }
        if let problem = schedule.problem() {
            throw .invalidOption(name: "the schedule", value: "invalid", requirement: "valid: \(problem)")
        }
        if let problem = optimizer.problem() {
            throw .invalidOption(name: "the optimizer", value: "invalid", requirement: "valid: \(problem)")
        }
        if let g = plan.maxGradNorm, !(g > 0 && g.isFinite) {
            throw .invalidOption(name: "--clip", value: "\(g)", requirement: "a positive number")
        }
        guard plan.validationFraction > 0 && plan.validationFraction < 1 else {
            throw .invalidOption(name: "--validation", value: "\(plan.validationFraction)", requirement: "between 0 and 1")
        }
    }

    /// Before the first step is spent: the output's folder must exist and be writable, and an
    /// existing file there must be the checkpoint being resumed (a new run never replaces another run).
    static func checkOutput(_ plan: TrainingPlan) throws(TrainingError) {
        let path = plan.outputPath
        let folder = (path as NSString).deletingLastPathComponent
        let dir = folder.isEmpty ? "." : folder
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue,
              FileManager.default.isWritableFile(atPath: dir)
        else { throw .outputNotWritable(path: path) }
        if FileManager.default.fileExists(atPath: path) {
            let resumed = resumePath(plan).map { URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath() }
            guard resumed == URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath() else {
                throw .outputExists(path: path)
            }
        }
    }

    static func save(_ state: TrainingState, _ stepper: TrainingStepper, to plan: TrainingPlan) throws(TrainingError) {
        var out = state
        out.parameters = stepper.weights.parameterDictionary()
        out.optimizerState = stepper.optimizer.states()
        out.optimizer = stepper.optimizer.hyperparameters
        do {
            try CheckpointWriter.write(out, to: plan.outputPath,
                                       options: .init(zstdLevel: plan.zstdLevel, overwrite: true),
                                       toolVersion: plan.toolVersion)
        } catch { throw .checkpoint(error) }
    }

    /// Mean loss over the first `evalBatches` batches of the held-out split (the same batches every time).
    static func evaluate(_ weights: ModelWeights, on validation: TokenSource, plan: TrainingPlan, seqLen T: Int,
                         batchSize B: Int) throws(TrainingError) -> Double {
        let acts: Activations
        do { acts = try Activations(config: weights.config, batchSize: B, seqLen: T, keepForBackward: false) }
        catch { throw .model(error) }
        var sampler: SequentialSampler
        do { sampler = try SequentialSampler(source: validation, batchSize: B, seqLen: T) } catch { throw .data(error) }
        var total = 0.0
        for _ in 0..<plan.evalBatches {
            let batch: TokenBatch
            do { batch = try sampler.next() } catch { throw .data(error) }
            do { total += Double(try weights.forward(tokens: batch.inputs, targets: batch.targets, activations: acts) ?? .nan) }
            catch { throw .model(error) }
        }
        return total / Double(plan.evalBatches)
    }

    /// `--train-only new` (LLaMA Pro, Wu et al. 2024: train only the expanded blocks): the tensors
    /// the last provenance record's growth lists as new are trainable, every other one frozen.
    /// Tensors that growth made partly new (new rows or columns of width growth) would need
    /// per-entry masks, which the trainer does not have: they are refused rather than trained
    /// whole, which would move the copied entries too.
    static func newTensors(_ state: TrainingState, path: String, layout: ParameterLayout) throws(TrainingError) -> [Bool] {
        guard let record = state.provenance.last, let growth = record.growth else {
            let last = state.provenance.last.map { "its last provenance record is \($0.operatorName)" } ?? "it has no provenance"
            throw .invalidOption(name: "--train-only new", value: "given for \(path)",
                                 requirement: "used on a grown checkpoint, whose last provenance record is a growth (\(last)); use --train-only all")
        }
        if let partly = growth.partlyNewTensors.first {
            throw .invalidOption(name: "--train-only new", value: "given for \(path), whose last growth made \(partly) (and \(growth.partlyNewTensors.count - 1) more) partly new",
                                 requirement: "used after growth that adds whole tensors (depth growth); use --train-only all")
        }
        var trainable = [Bool](repeating: false, count: layout.specs.count)
        for name in growth.newTensors {
            guard let i = layout.index(of: name) else {
                throw .invalidOption(name: "--train-only new", value: "given for \(path), whose growth record lists \(name)",
                                     requirement: "a tensor of the model; the record does not match the checkpoint, use --train-only all")
            }
            trainable[i] = true
        }
        guard trainable.contains(true) else {
            throw .invalidOption(name: "--train-only new", value: "given for \(path), whose last growth added no tensor",
                                 requirement: "used after growth that adds tensors; use --train-only all")
        }
        return trainable
    }
}
