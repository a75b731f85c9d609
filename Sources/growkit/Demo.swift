#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import GrowkitCheckpoint
import GrowkitData
import GrowkitGrowth
import GrowkitPlan
import GrowkitPlot
import GrowkitState
import GrowkitStorage
import GrowkitTraining
import GrowkitVerify

/// What the demo reports while it runs, for the CLI to render.
enum DemoEvent {
    /// A stage starts (one line).
    case stage(String)
    /// A step, evaluation or save of the named training run.
    case training(run: String, TrainingEvent)
}

/// `growkit demo`'s wiring: every stage calls a library (GrowkitTraining's trainer and
/// reference check, GrowkitGrowth's plan, GrowkitVerify's checks, GrowkitPlan's slope
/// rule, GrowkitPlot's SVG) and records its figures in a ``DemoResult``; nothing here
/// prints. A check of the growth is one call that appends one ``DemoResult/Check`` row.
struct DemoPipeline {
    var settings: DemoSettings
    var paths: DemoPaths
    var toolVersion: String

    /// Runs every stage in order. A growth that misses its tolerance stops the demo
    /// before training on it: the result then has no grown or scratch run and
    /// ``DemoResult/passed`` is false.
    func run(_ report: (DemoEvent) -> Void = { _ in }) throws -> DemoResult {
        let clock = ContinuousClock()
        let start = clock.now
        try Folder.make(paths.folder)  // first: a folder that cannot be made fails before any work
        let plan = try GrowthPlan(source: settings.smallConfig, depth: try OperatorSyntax.depth(settings.depthOperator),
                                  width: try OperatorSyntax.width(settings.widthOperator), seed: settings.seed)
        var result = DemoResult(settings: setup(plan), references: try checkForwardPass(report))
        let heldOut = try heldOutBatches()

        report(.stage("training the small model to step \(settings.growStep)"))
        let small = try train(name: "small", start: .new(config: settings.smallConfig, seed: settings.seed),
                              steps: settings.growStep, schedule: settings.growStep + settings.grownSteps, to: paths.small, report)
        result.planner = try askPlanner(history: small.state.history)

        report(.stage("growing \(settings.operators.joined(separator: ", ")) and checking the function on held-out text"))
        var grown = grow(small.state, plan: plan)
        let preservation = try checkFunctionPreservation(small.state, grown, plan: plan, batches: heldOut)
        result.functionPreservation = preservation
        result.checks.append(.functionPreservation(preservation))
        // `verify --gradients`: replays the plan from `grown`'s last provenance record (appended by `grow`).
        result.checks.append(.gradientConsistency(
            try GradientConsistency.check(source: small.state, grown: grown, batches: Array(heldOut.prefix(2)))))
        guard result.checks.allSatisfy(\.passed) else {
            result.seconds = seconds(clock.now - start)
            return result
        }
        grown.provenance[grown.provenance.count - 1].verification = preservation.provenanceValue
        grown.provenance[grown.provenance.count - 1].sourceSHA256 = try SHA256.hex(ofFile: paths.small)
        try CheckpointWriter.write(grown, to: paths.grown, options: .init(overwrite: true), toolVersion: toolVersion)

        report(.stage("training the grown model for \(settings.grownSteps) more steps"))
        let grownRun = try train(name: "grown", start: .resume(path: paths.grown, config: nil),
                                 steps: settings.growStep + settings.grownSteps, schedule: nil, to: paths.grownTrained, report)
        report(.stage("training the grown size from scratch for \(settings.grownSteps) steps"))
        let scratchStart = try writeScratchStart(config: plan.grown, dataCursor: small.state.trainer.dataCursor)
        defer { unlink(scratchStart) }
        let scratch = try train(name: "scratch", start: .resume(path: scratchStart, config: nil),
                                steps: settings.grownSteps, schedule: settings.grownSteps, to: paths.scratch, report)

        report(.stage("plotting the loss curves"))
        result.runs = try plot([small, grownRun, scratch])
        result.comparison = compare(grown: result.runs[1], scratch: result.runs[2], atGrowth: preservation.grownLoss)
        result.outputs = DemoResult.Outputs(folder: paths.folder,
                                            checkpoints: [paths.small, paths.grown, paths.grownTrained, paths.scratch],
                                            plots: [paths.plotTokens, paths.plotFlops])
        result.seconds = seconds(clock.now - start)
        return result
    }

    func setup(_ plan: GrowthPlan) -> DemoResult.Setup {
        DemoResult.Setup(
            corpus: (paths.corpus as NSString).lastPathComponent, smallModel: .init(plan.source), grownModel: .init(plan.grown),
            operators: settings.operators, optimizer: OptimizerTransfer.carry.rawValue, schedule: scheduleAtGrowth.name,
            batchSize: settings.batchSize, seqLen: settings.seqLen, tokensPerStep: settings.tokensPerStep,
            growStep: settings.growStep, grownSteps: settings.grownSteps, warmupSteps: settings.warmupSteps,
            peakLR: settings.peakLR, minLR: settings.minLR, heldOutBatches: settings.heldOutBatches, seed: settings.seed,
            rewarmSteps: settings.rewarmSteps, evalEvery: settings.evalEvery)
    }

    /// Staged training's re-warm at the step reached: the step and the small run's cosine
    /// continue, the learning rate climbs from 0 again over ``DemoSettings/rewarmSteps``.
    var scheduleAtGrowth: ScheduleTransform { .rewarm(step: settings.growStep, steps: settings.rewarmSteps) }

    // MARK: Stages

    /// Our forward pass against transformers on every reference model of `fixtures/hf`.
    func checkForwardPass(_ report: (DemoEvent) -> Void) throws -> [DemoResult.Reference] {
        try ReferenceCase.standardNames.map { name throws -> DemoResult.Reference in
            report(.stage("forward pass vs transformers: \(name)"))
            return DemoResult.Reference(try ReferenceCase(folder: paths.referenceFolder, name: name).compare())
        }
    }

    /// The first batches of the held-out split, in order: the batches the trainer's
    /// end-of-run evaluation scores, so the loss before growth is the small run's held-out loss.
    func heldOutBatches() throws -> [VerificationBatch] {
        let validation = try TokenSource(path: paths.corpus).split(validationFraction: settings.validationFraction).validation
        var sampler = try SequentialSampler(source: validation, batchSize: settings.batchSize, seqLen: settings.seqLen)
        return try (0..<settings.heldOutBatches).map { _ throws -> VerificationBatch in VerificationBatch(try sampler.next()) }
    }

    /// A run of the bundled trainer to step `steps`. A new run gets the demo's schedule (warmup,
    /// then cosine over `schedule` steps: `growkit train --total-steps --warmup ...`); a resumed
    /// one (`schedule` nil) keeps its checkpoint's. Evaluated on the held-out batches every
    /// `evalEvery` steps and at its end.
    /// It trains into a temporary file renamed over `path` at the end, so an earlier
    /// demo's checkpoint stays whole until the new one is complete.
    func train(name: String, start: TrainingPlan.Start, steps: Int, schedule: Int?, to path: String,
               _ report: (DemoEvent) -> Void) throws -> TrainedRun {
        let folder = (path as NSString).deletingLastPathComponent
        let partial = "\(folder)/.\((path as NSString).lastPathComponent).partial"
        unlink(partial)
        var plan = TrainingPlan(start: start, dataPath: paths.corpus, outputPath: partial)
        plan.validationFraction = settings.validationFraction
        plan.batchSize = settings.batchSize
        plan.seqLen = settings.seqLen
        plan.steps = steps
        plan.evalEvery = settings.evalEvery
        plan.evalBatches = settings.heldOutBatches
        plan.toolVersion = toolVersion
        if let schedule {
            plan.scheduleChanges.kind = .cosine
            plan.scheduleChanges.peakLR = settings.peakLR
            plan.scheduleChanges.minLR = settings.minLR
            plan.scheduleChanges.warmupSteps = settings.warmupSteps
            plan.scheduleChanges.totalSteps = schedule
        }
        let summary: TrainingSummary
        var heldOut: [(step: Int, loss: Double)] = []
        do {
            summary = try Trainer.run(plan) { event in
                if case .evaluated(let step, let loss) = event { heldOut.append((step, loss)) }
                report(.training(run: name, event))
            }
        } catch {
            unlink(partial)
            throw error
        }
        guard rename(partial, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial)
            throw DemoError(description: "\(path): could not rename the finished checkpoint into place (\(reason)).")
        }
        // Re-read from disk: the curve and the state come from the file, not from memory.
        let state = try CheckpointReader(path: path).readAll()
        return TrainedRun(name: name, path: path, summary: summary, state: state, heldOut: heldOut)
    }

    /// A fresh model of the grown size (the trainer's own initialisation and AdamW state) whose
    /// data cursor is where the growth happened, so the scratch run trains on exactly the
    /// batches the grown run trains on; written to a hidden file the caller removes.
    func writeScratchStart(config: ModelConfig, dataCursor: Int) throws -> String {
        let path = "\(paths.folder)/.scratch-start.h5"
        var plan = TrainingPlan(start: .new(config: config, seed: settings.seed), dataPath: paths.corpus, outputPath: path)
        plan.batchSize = settings.batchSize
        plan.seqLen = settings.seqLen
        plan.steps = settings.grownSteps
        plan.toolVersion = toolVersion
        var state = Trainer.freshState(config: config, seed: settings.seed, plan: plan)
        state.trainer.dataCursor = dataCursor
        try CheckpointWriter.write(state, to: path, options: .init(overwrite: true), toolVersion: toolVersion)
        return path
    }

    /// Staged training's slope rule (Shen et al. 2022) on the small run's own history:
    /// whether it is time to grow at the end, and the first logged step after twice the warmup
    /// at which it said so (history so far).
    func askPlanner(history: TrainingHistory) throws -> DemoResult.PlannerAnswer {
        let growth = StagedGrowth.both
        let parameters = Double(settings.smallConfig.nonEmbeddingParameterCount)
        let tokensPerStep = Double(settings.tokensPerStep)
        let smoothing = SlopeSmoothing(windowDecades: settings.plannerWindowDecades)
        func assess(_ count: Int) throws(PlanError) -> GrowthAssessment {
            try LossHistory(steps: history.step.prefix(count).map(Double.init), losses: Array(history.loss.prefix(count)))
                .assessGrowth(parameters: parameters, tokensPerStep: tokensPerStep, threshold: growth.defaultThreshold,
                              smoothing: smoothing)
        }
        let final: GrowthAssessment
        do { final = try assess(history.count) } catch {
            throw DemoError(description: "the planner could not judge the small run's history: \(error)")
        }
        var first: Int? = nil
        // From the end of warmup on: while the learning rate ramps up the curve is flat for a reason the rule does not model.
        for count in 1...history.count where history.step[count - 1] > 2 * settings.warmupSteps {
            if let assessment = try? assess(count), assessment.timeToGrow { first = history.step[count - 1]; break }
        }
        let slope = String(format: "%.4f", final.latest.slope), threshold = String(format: "%.4f", final.threshold)
        let decision: String
        if final.timeToGrow {
            decision = "time to grow (slope \(slope) > \(threshold))" + (first.map { ", first at step \($0)" } ?? "")
                + "; the demo grows at step \(settings.growStep)."
        } else if let first {
            decision = "not yet at step \(settings.growStep) (slope \(slope) <= \(threshold)), though it said grow at step \(first); the demo grows at its fixed step \(settings.growStep) anyway."
        } else {
            decision = "not yet (slope \(slope) <= \(threshold)) within the demo's \(settings.growStep) steps; the demo grows at its fixed step \(settings.growStep) anyway."
        }
        return DemoResult.PlannerAnswer(
            rule: "staged training slope of log L over log C (Shen et al. 2022)", growth: growth.rawValue,
            threshold: final.threshold, slope: final.latest.slope, standardError: final.latest.standardError,
            centreStep: final.centreStep, timeToGrow: final.timeToGrow, firstStepToGrow: first,
            grewAtStep: settings.growStep, decision: decision)
    }

    /// The whole state grown in memory: moments carried by each operator's gradient scale,
    /// the schedule re-warmed at the step reached (``scheduleAtGrowth``), a provenance record.
    func grow(_ state: TrainingState, plan: GrowthPlan) -> TrainingState {
        var arguments: [String: JSONValue] = ["seed": .number(Double(settings.seed)), "optimizer": .string("carry"),
                                              "schedule": .string(scheduleAtGrowth.name),
                                              "rewarm_step": .number(Double(settings.growStep)),
                                              "rewarm_steps": .number(Double(settings.rewarmSteps)),
                                              "depth": .string(settings.depthOperator), "width": .string(settings.widthOperator)]
        arguments["demo"] = .bool(true)
        let record = ProvenanceRecord(
            operatorName: "grow", arguments: arguments, source: (paths.small as NSString).lastPathComponent,
            toolVersion: toolVersion, growth: plan.record(operators: settings.operators, historyLength: state.history.count),
            time: ProvenanceRecord.now())
        return plan.apply(to: state, optimizer: .carry, schedule: scheduleAtGrowth, record: record)
    }

    /// `growkit verify`'s check (GrowkitVerify) on the held-out batches: the loss before and after growth.
    func checkFunctionPreservation(_ small: TrainingState, _ grown: TrainingState, plan: GrowthPlan,
                                   batches: [VerificationBatch]) throws -> FunctionPreservationResult {
        try FunctionPreservation.check(
            sourceConfig: small.config, sourceParameters: small.parameters, grownConfig: grown.config,
            grownParameters: grown.parameters, batches: batches, claimedExact: plan.isExact,
            names: ModelNames(source: paths.small, grown: paths.grown))
    }

    /// Both SVGs (x = tokens, x = FLOPs) of the three runs, and each run's figures with its
    /// FLOPs curve (GrowkitPlot's `6 N D`, the small model's N before the growth).
    func plot(_ trained: [TrainedRun]) throws -> [DemoResult.Run] {
        let runs = trained.map { run in
            PlotRun(label: run.label, fileName: (run.path as NSString).lastPathComponent, history: run.state.history,
                    provenance: run.state.provenance, config: run.state.config)
        }
        let title = "growkit demo: small, grown and scratch on The Jargon File"
        let byTokens = try LossPlot.render(runs, options: PlotOptions(x: .tokens, title: title))
        try PlotOutput.write(byTokens.svg, to: paths.plotTokens)
        let byFlops = try LossPlot.render(runs, options: PlotOptions(x: .flops, title: title))
        try PlotOutput.write(byFlops.svg, to: paths.plotFlops)
        return zip(trained, byTokens.growths).map { run, growths in
            let history = run.state.history
            let flops = FlopsCurve.flops(history: history, config: run.state.config, growths: growths)
            // This run's entries are the last (lastStep - firstStep) of the history (a grown run's start with the small run's).
            let firstIndex = max(0, history.count - (run.summary.lastStep - run.summary.firstStep))
            let before = firstIndex > 0 ? flops[firstIndex - 1] : 0
            let tokensTrained = run.summary.tokensSeen - (firstIndex > 0 ? history.tokens[firstIndex - 1] : 0)
            let evaluated = run.heldOut.compactMap { point in history.step.lastIndex(of: point.step).map { (point, $0) } }
            return DemoResult.Run(
                name: run.name, checkpoint: run.path, numLayers: run.state.config.numLayers,
                hiddenSize: run.state.config.hiddenSize, parameters: run.state.config.parameterCount,
                firstStep: run.summary.firstStep, lastStep: run.summary.lastStep, tokensTrained: tokensTrained,
                tokensSeen: run.summary.tokensSeen, flops: (flops.last ?? 0) - before, cumulativeFlops: flops.last ?? 0,
                seconds: run.summary.seconds, tokensPerSecond: run.summary.tokensPerSecond,
                finalLoss: run.summary.finalLoss ?? .nan, heldOutLoss: run.summary.validationLoss ?? .nan,
                curve: DemoResult.Curve(steps: history.step, tokens: history.tokens, flops: flops, losses: history.loss),
                heldOutCurve: DemoResult.Curve(steps: evaluated.map(\.0.step), tokens: evaluated.map { history.tokens[$0.1] },
                                               flops: evaluated.map { flops[$0.1] }, losses: evaluated.map(\.0.loss)))
        }
    }

    /// The grown run against scratch on the held-out batches: no spike after growth, the
    /// losses after the same tokens at the grown size, and at equal compute (the scratch
    /// run's total, which the grown run reaches first since its small phase was cheaper,
    /// or the grown run's total when that is the smaller).
    func compare(grown: DemoResult.Run, scratch: DemoResult.Run, atGrowth: Double) -> DemoResult.Comparison {
        let grownCurve = grown.heldOutCurve, scratchCurve = scratch.heldOutCurve
        let startFlops = grown.cumulativeFlops - grown.flops
        let flops = min(grown.cumulativeFlops, scratch.cumulativeFlops)
        let largest = grownCurve.losses.indices.max { grownCurve.losses[$0] < grownCurve.losses[$1] }
        return DemoResult.Comparison(
            heldOutAtGrowth: atGrowth, heldOutAfterGrowth: grownCurve.losses.first ?? .nan,
            stepAfterGrowth: grownCurve.steps.first ?? 0,
            largestHeldOutAfterGrowth: largest.map { grownCurve.losses[$0] } ?? .nan,
            stepOfLargest: largest.map { grownCurve.steps[$0] } ?? 0,
            grownHeldOutLoss: grown.heldOutLoss, scratchHeldOutLoss: scratch.heldOutLoss,
            grownAheadAtEqualTokens: grown.heldOutLoss < scratch.heldOutLoss,
            equalFlops: flops,
            grownHeldOutAtEqualFlops: interpolate(x: [startFlops] + grownCurve.flops, y: [atGrowth] + grownCurve.losses, at: flops),
            scratchHeldOutAtEqualFlops: interpolate(x: [0] + scratchCurve.flops, y: [.nan] + scratchCurve.losses, at: flops),
            flopsRatio: grown.cumulativeFlops / scratch.cumulativeFlops)
    }
}

/// A finished training run, re-read from its checkpoint.
struct TrainedRun {
    var name: String
    var path: String
    var summary: TrainingSummary
    var state: TrainingState
    /// The held-out loss at each evaluation of this run.
    var heldOut: [(step: Int, loss: Double)]

    var label: String {
        "\(name) (\(state.config.numLayers) layers x \(state.config.hiddenSize), "
            + String(format: "%.2fM", Double(state.config.parameterCount) / 1e6) + " parameters)"
    }
}

extension DemoResult.Check {
    /// The function-preservation row: the held-out loss before and after growth, `|dloss|`, `max |dlogit|`.
    static func functionPreservation(_ r: FunctionPreservationResult) -> Self {
        DemoResult.Check(
            name: "function preservation (growkit verify)",
            figures: [.init(label: "loss before", value: r.sourceLoss), .init(label: "loss after", value: r.grownLoss),
                      .init(label: "|dloss|", value: r.lossDifference), .init(label: "max |dlogit|", value: r.maxLogitDifference)],
            passed: r.passed, verdict: r.verdict.rawValue)
    }

    /// With symmetry-breaking noise the gradients are approximate by design; the moments must still carry `s`.
    static func gradientConsistency(_ r: GradientConsistencyResult) -> Self {
        DemoResult.Check(
            name: "gradients and moments (growkit verify --gradients)",
            figures: [.init(label: "entries", value: Double(r.total.gradientEntries)),
                      .init(label: "worst |g' - s g| / r", value: r.total.worstGradientError),
                      .init(label: "worst exp_avg error", value: r.total.worstExpAvgError),
                      .init(label: "worst exp_avg_sq error", value: r.total.worstExpAvgSqError)],
            passed: r.passed, verdict: r.verdict.rawValue)
    }
}

/// A demo failure, one sentence.
struct DemoError: Error, CustomStringConvertible {
    var description: String
}

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

/// `y` at `x = at` by linear interpolation on increasing `x`; nil outside the range or where `y` is not finite.
private func interpolate(x: [Double], y: [Double], at target: Double) -> Double? {
    guard let upper = x.firstIndex(where: { $0 >= target }) else { return nil }
    guard upper > 0 else { return x[0] == target ? y[0] : nil }
    let t = (target - x[upper - 1]) / (x[upper] - x[upper - 1])
    let value = y[upper - 1] + t * (y[upper] - y[upper - 1])
    return value.isFinite ? value : nil
}
