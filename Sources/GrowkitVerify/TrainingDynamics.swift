import GrowkitData
import GrowkitModel
import GrowkitRandom
import GrowkitState
import GrowkitTraining

/// Reported after every update of every run, for the CLI (or the demo) to render.
public struct TrainingDynamicsProgress: Sendable {
    public var run: DynamicsRunKind
    /// Updates done in this run (1-based) and in all.
    public var step: Int
    public var steps: Int
    public var loss: Double
}

/// Training dynamics after growth (DESIGN section 6; docs/VERIFY.md "Training dynamics"):
/// continue SMALL, GROWN and optionally a from-scratch model of GROWN's size for `N` updates
/// each with the bundled trainer (``TrainingStepper``: AdamW, clipping, each state's own schedule
/// and step), in memory, on the same batches, and compare the curves.
///
/// Every run reads the same windows: the training split of `data` (the last
/// ``TrainingDynamicsSettings/validationFraction`` held out, as `growkit train`), in order from
/// GROWN's data cursor (``SequentialSampler``). SMALL is the control: at step `k` both it and GROWN
/// score the same batch, so `L'_k - L_k` is free of batch-to-batch noise, and
///
///     spiked  = max over k < min(N, 5) of (L'_k - L_k - max(0.05, 0.02 L_k)) > 0
///     stalled = mean(L' over the last ceil(N/3) steps) >= mean(L' over the first ceil(N/3))
///
/// `L_0` is the loss at growth (SMALL on the first batch), `L'_0` the loss just after.
public enum TrainingDynamics {
    /// Steps compared for a spike.
    public static let spikeWindow = 5

    /// The runs' figures and, with ``TrainingDynamicsSettings/keepStates``, their final states.
    public struct Outcome: Sendable {
        public var result: TrainingDynamicsResult
        /// Each run's state after its `N` updates (history appended, trainer position advanced);
        /// empty unless ``TrainingDynamicsSettings/keepStates``.
        public var states: [DynamicsRunKind: TrainingState]
    }

    /// Checks that GROWN was derived from SMALL by a recorded growth: the same family and
    /// vocabulary, and GROWN's last provenance record a growth whose sizes are SMALL's and GROWN's.
    public static func checkDerived(source: ModelConfig, grown: ModelConfig, provenance: [ProvenanceRecord],
                                    names: ModelNames = ModelNames()) throws(VerifyError) {
        try FunctionPreservation.checkCompatibility(source: source, grown: grown, seqLen: 1, names: names)
        let claim = GrowthClaim(provenance: provenance)
        if let missing = claim.missingGrowth {
            throw .notDerived(grown: names.grown, source: names.source, reason: missing)
        }
        if let mismatch = claim.sizeMismatches(source: source, grown: grown).first {
            throw .notDerived(grown: names.grown, source: names.source, reason: "its last growth record says \(mismatch)")
        }
    }

    /// Runs SMALL, GROWN (and the scratch model) for `settings.steps` updates each.
    /// - Throws: ``VerifyError`` for states of different families or vocabularies, a GROWN whose
    ///   provenance does not show a growth of SMALL, data shorter than one batch or with ids beyond
    ///   the vocabulary, bad settings, or a run that diverges (a non-finite loss or gradient).
    public static func run(
        source: TrainingState, grown: TrainingState, data: TokenSource, settings: TrainingDynamicsSettings,
        names: ModelNames = ModelNames(), progress: (TrainingDynamicsProgress) -> Void = { _ in }
    ) throws(VerifyError) -> Outcome {
        try checkDerived(source: source.config, grown: grown.config, provenance: grown.provenance, names: names)
        guard settings.steps >= 1 else { throw .invalidDynamics(problem: "--steps is \(settings.steps); it must be at least 1") }
        let B = settings.batchSize ?? grown.trainer.batchSize
        let T = settings.seqLen ?? min(grown.trainer.seqLen, source.config.maxPosition, grown.config.maxPosition)
        guard B >= 1, T >= 1 else { throw .invalidDynamics(problem: "batch size \(B) and sequence length \(T) must be positive") }
        try FunctionPreservation.checkCompatibility(source: source.config, grown: grown.config, seqLen: T, names: names)
        let train: TokenSource
        do {
            try data.validate(vocabSize: source.config.vocabSize)
            train = try data.split(validationFraction: settings.validationFraction).train
        } catch { throw .unreadable(message: error.description) }
        guard train.count >= B * T + 1 else {
            throw .invalidDynamics(problem: "\(data.path) has \(train.count) training tokens but one batch of \(B) x \(T) needs \(B * T + 1); pass a longer file or a smaller --batch-size or --seq-len")
        }
        let cursor = grown.trainer.dataCursor <= train.count ? grown.trainer.dataCursor : 0

        var states: [DynamicsRunKind: TrainingState] = [:]
        var curves: [DynamicsRunKind: DynamicsCurve] = [:]
        var runs: [(DynamicsRunKind, TrainingState)] = [(.source, source), (.grown, grown)]
        if settings.scratch { runs.append((.scratch, scratchState(like: grown, seed: settings.scratchSeed))) }
        for (kind, state) in runs {
            let name = kind == .source ? names.source : kind == .grown ? names.grown : "the scratch model"
            let (curve, final) = try continueRun(state, kind: kind, name: name, data: train, cursor: cursor, batchSize: B, seqLen: T,
                                           settings: settings, progress: progress)
            curves[kind] = curve
            if settings.keepStates { states[kind] = final }
        }
        let small = curves[.source]!, big = curves[.grown]!
        let window = min(settings.steps, spikeWindow)
        var worst = -Double.infinity, worstStep = 0, spiked = false
        for k in 0..<window {
            let excess = big.losses[k] - small.losses[k]
            if excess > worst { (worst, worstStep) = (excess, k) }
            if excess > TrainingDynamicsResult.margin(at: small.losses[k]) { spiked = true }
        }
        var reaches: Int? = nil
        if let scratch = curves[.scratch] { reaches = big.losses.firstIndex { $0 <= scratch.lastLoss }.map { $0 + 1 } }
        let result = TrainingDynamicsResult(
            batchSize: B, seqLen: T, dataCursor: cursor, source: small, grown: big, scratch: curves[.scratch],
            historyLoss: source.history.loss.last, lossAtGrowth: small.firstLoss, lossAfterGrowth: big.firstLoss,
            spikeWindow: window, worstExcess: worst, worstExcessStep: worstStep,
            margin: TrainingDynamicsResult.margin(at: small.losses[worstStep]), spiked: spiked, stalled: big.stalled,
            grownReachesScratchAt: reaches)
        return Outcome(result: result, states: states)
    }

    /// A model of `grown`'s config initialised GPT-2 style (``ModelInitialization``), fresh AdamW
    /// moments, GROWN's optimizer hyperparameters and schedule, at step 0 with no history.
    public static func scratchState(like grown: TrainingState, seed: UInt64) -> TrainingState {
        var moments: [String: AdamParameterState] = [:]
        for spec in grown.config.parameters() {
            moments[spec.name] = AdamParameterState(freshFor: spec.shape, applyWeightDecay: spec.defaultWeightDecay)
        }
        var metadata = grown.metadata
        metadata.trainer.step = 0
        metadata.trainer.tokensSeen = 0
        metadata.trainer.dataCursor = 0
        metadata.history = TrainingHistory()
        metadata.provenance = [ProvenanceRecord(operatorName: "init", arguments: ["seed": .number(Double(seed)), "init": .string("gpt2")],
                                                toolVersion: grown.provenance.last?.toolVersion ?? "growkit",
                                                time: ProvenanceRecord.now())]
        return TrainingState(metadata: metadata, parameters: ModelInitialization.gpt2Style(config: grown.config, seed: seed),
                             optimizerState: moments)
    }

    private static func continueRun(
        _ state: TrainingState, kind: DynamicsRunKind, name: String, data: TokenSource, cursor: Int, batchSize B: Int,
        seqLen T: Int, settings: TrainingDynamicsSettings, progress: (TrainingDynamicsProgress) -> Void
    ) throws(VerifyError) -> (DynamicsCurve, TrainingState) {
        let stepper: TrainingStepper
        var sampler: SequentialSampler
        do {
            let optimizer = AdamWOptimizer(config: state.config, hyperparameters: state.optimizer, states: state.optimizerState)
            stepper = try TrainingStepper(weights: ModelWeights(config: state.config, parameters: state.parameters),
                                          optimizer: optimizer, schedule: state.schedule, maxGradNorm: settings.maxGradNorm,
                                          step: state.trainer.step, batchSize: B, seqLen: T)
            sampler = try SequentialSampler(source: data, batchSize: B, seqLen: T, cursor: cursor)
        } catch let error as ModelError {
            throw .model(model: name, message: error.description)
        } catch let error as DataError {
            throw .unreadable(message: error.description)
        } catch {
            throw .model(model: name, message: "\(error)")
        }
        var steps: [Int] = [], losses: [Double] = [], lrs: [Double] = [], tokens: [Int] = []
        var final = state
        for k in 1...settings.steps {
            do {
                let batch = try sampler.next()
                stepper.inputs[0] = batch.inputs
                stepper.targets[0] = batch.targets
            } catch { throw .unreadable(message: error.description) }
            let outcome: StepOutcome
            do { outcome = try stepper.step() } catch { throw .model(model: name, message: error.description) }
            steps.append(outcome.step)
            losses.append(outcome.loss)
            lrs.append(outcome.lr)
            tokens.append(k * B * T)
            if settings.keepStates {
                final.trainer.tokensSeen += B * T
                final.history.append(step: outcome.step, loss: outcome.loss, lr: outcome.lr, tokens: final.trainer.tokensSeen)
            }
            progress(TrainingDynamicsProgress(run: kind, step: k, steps: settings.steps, loss: outcome.loss))
        }
        if settings.keepStates {
            final.parameters = stepper.weights.parameterDictionary()
            final.optimizerState = stepper.optimizer.states()
            final.trainer.step = stepper.stepsTaken
            final.trainer.dataCursor = sampler.cursor
            final.trainer.batchSize = B
            final.trainer.seqLen = T
        }
        let curve = DynamicsCurve(run: kind, parameters: stepper.weights.layout.count, steps: steps, losses: losses,
                                  learningRates: lrs, tokens: tokens)
        return (curve, final)
    }
}
