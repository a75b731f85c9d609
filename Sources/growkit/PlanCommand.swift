import ArgumentParser
import Foundation
import GrowkitPlan
import GrowkitCheckpoint
import GrowkitState

/// `growkit plan`: when to grow and by how much (DESIGN.md section 8,
/// docs/PLANNER.md). Three questions, one per set of options:
/// the stacking rule (`--target-params --tokens`), staged training's schedule
/// (`--small-params --batch-tokens --grow`), and "is it time yet" for a
/// checkpoint's own loss history (`--from CKPT --grow`).
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "When to grow: the stacking paper's timing rule, or staged training's scaling-law schedule.",
        discussion: """
            growkit plan --target-params 7e9 --tokens 2e12
                tokens to train the N/4 model before stacking it 4x (Du et al. 2024)
            growkit plan --small-params 1.2e8 --batch-tokens 524288 --grow depth
                the step at which to grow and the resume step R = S / c (Shen et al. 2022)
            growkit plan --from run.h5 --grow width
                whether the run's own smoothed loss slope says it is time to grow
            Counts accept suffixes K, M, B (or G) and T: 7B = 7e9. See docs/PLANNER.md.
            """)

    @Option(name: .customLong("target-params"), parsing: .unconditional, help: "Stacking rule: parameters N of the grown (target) model.")
    var targetParams: String?
    @Option(parsing: .unconditional, help: "Stacking rule: total token budget D of the target run.")
    var tokens: String?

    @Option(name: .customLong("small-params"), parsing: .unconditional, help: "Staged training: non-embedding parameters of the small model.")
    var smallParams: String?
    @Option(name: .customLong("batch-tokens"), parsing: .unconditional, help: "Staged training: tokens per optimizer step B.")
    var batchTokens: String?
    @Option(help: "Growth to plan: depth, width or both.")
    var grow: String?
    @Option(parsing: .unconditional, help: "Slope threshold (default -0.0575 depth, -0.0475 width and both).")
    var threshold: String?
    @Option(name: .customLong("resume-divisor"), parsing: .unconditional, help: "c in R = S / c (default 1.412 depth, 1.776 width, 2.455 both).")
    var resumeDivisor: String?
    @Option(name: .customLong("budget-tokens"), parsing: .unconditional, help: "Token budget of the small model: a grow point beyond it is an error.")
    var budgetTokens: String?
    @Option(name: .customLong("loss-form"), help: "critical (B = Bcrit, staged training's notebooks; default) or given-batch.")
    var lossForm: String?
    @Option(name: .customLong("nc"), parsing: .unconditional, help: "Scaling-law Nc (default 8.8e13).") var nc: String?
    @Option(name: .customLong("sc"), parsing: .unconditional, help: "Scaling-law Sc (default 2.1e3).") var sc: String?
    @Option(name: .customLong("alpha-n"), parsing: .unconditional, help: "Scaling-law alphaN (default 0.076).") var alphaN: String?
    @Option(name: .customLong("alpha-s"), parsing: .unconditional, help: "Scaling-law alphaS (default 0.76).") var alphaS: String?
    @Option(name: .customLong("b-star"), parsing: .unconditional, help: "Scaling-law B* in tokens (default 2.1e8).") var bStar: String?
    @Option(name: .customLong("alpha-b"), parsing: .unconditional, help: "Scaling-law alphaB (default 0.21).") var alphaB: String?

    @Option(help: "Checkpoint whose /history to judge.")
    var from: String?
    @Option(name: .customLong("window-decades"), parsing: .unconditional, help: "Smoothing window for --from, in decades of compute (default 0.2).")
    var windowDecades: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let stacking = targetParams != nil || tokens != nil
        let staged = smallParams != nil || batchTokens != nil
        let modes = [stacking, staged, from != nil].filter { $0 }.count
        guard modes == 1 else {
            throw PlanCommandError.chooseOneMode(given: modes)
        }
        let output: PlanOutput
        if stacking {
            let n = try number(targetParams, "--target-params", required: "the stacking rule")
            let d = try number(tokens, "--tokens", required: "the stacking rule")
            output = .stacking(try StackingTimingRule.du2024.plan(targetParameters: n, tokens: d))
        } else if let from {
            output = try assess(checkpoint: from)
        } else {
            output = try planStaged()
        }
        print(json ? try output.json() : try output.checkedTable(), terminator: "")
    }

    private func growth() throws(PlanCommandError) -> StagedGrowth {
        guard let grow else { throw .missing(option: "--grow", purpose: "the slope threshold, as depth, width or both") }
        guard let value = StagedGrowth(rawValue: grow.lowercased()) else {
            throw .badChoice(option: "--grow", text: grow, choices: "depth, width or both")
        }
        return value
    }

    private func scalingLaw() throws(PlanCommandError) -> KaplanScalingLaw {
        var law = KaplanScalingLaw.kaplan2020
        if let nc { law.criticalParameters = try number(nc, "--nc") }
        if let sc { law.criticalSteps = try number(sc, "--sc") }
        if let alphaN { law.parameterExponent = try number(alphaN, "--alpha-n") }
        if let alphaS { law.stepExponent = try number(alphaS, "--alpha-s") }
        if let bStar { law.criticalBatchScale = try number(bStar, "--b-star") }
        if let alphaB { law.batchExponent = try number(alphaB, "--alpha-b") }
        return law
    }

    private func planStaged() throws -> PlanOutput {
        let n = try number(smallParams, "--small-params", required: "staged training")
        let b = try number(batchTokens, "--batch-tokens", required: "staged training")
        let growth = try growth()
        let batch: BatchAssumption
        switch lossForm?.lowercased() {
        case nil, "critical": batch = .critical
        case "given-batch": batch = .given(tokensPerStep: b)
        case let other?: throw PlanCommandError.badChoice(option: "--loss-form", text: other, choices: "critical or given-batch")
        }
        let plan = try StagedPlanner(law: try scalingLaw()).plan(
            smallParameters: n, tokensPerStep: b, growth: growth, batch: batch,
            threshold: try threshold.map { text throws(PlanCommandError) in try signedNumber(text, "--threshold") },
            resumeDivisor: try resumeDivisor.map { text throws(PlanCommandError) in try number(text, "--resume-divisor") },
            budgetTokens: try budgetTokens.map { text throws(PlanCommandError) in try number(text, "--budget-tokens") })
        return .staged(plan)
    }

    private func assess(checkpoint path: String) throws -> PlanOutput {
        let growth = try growth()
        let threshold = try threshold.map { text throws(PlanCommandError) in try signedNumber(text, "--threshold") }
            ?? growth.defaultThreshold
        let window = try windowDecades.map { text throws(PlanCommandError) in try number(text, "--window-decades") } ?? 0.2
        let divisor = try resumeDivisor.map { text throws(PlanCommandError) in try number(text, "--resume-divisor") }
            ?? growth.defaultResumeDivisor
        let reader = try CheckpointReader(path: path)
        let history = reader.history
        guard history.count > 0 else { throw PlanCommandError.noHistory(file: path) }
        let config = reader.config
        let nonEmbedding = Double(config.nonEmbeddingParameterCount)
        let tokensPerStep = Double(reader.trainer.batchSize) * Double(reader.trainer.seqLen)
        guard tokensPerStep > 0 else { throw PlanCommandError.badTrainer(file: path, tokensPerStep: tokensPerStep) }
        let assessment: GrowthAssessment
        do {
            assessment = try LossHistory(steps: history.step.map(Double.init), losses: history.loss)
                .assessGrowth(parameters: nonEmbedding, tokensPerStep: tokensPerStep, threshold: threshold,
                              smoothing: SlopeSmoothing(windowDecades: window))
        } catch {
            throw PlanCommandError.inCheckpoint(file: path, error)
        }
        return .assessment(file: path, growth: growth, parameters: nonEmbedding, tokensPerStep: tokensPerStep,
                           assessment, resumeDivisor: divisor)
    }
}

/// Parses a count such as `7e9`, `7B`, `2T`, `524288`; must be positive and finite.
private func number(_ text: String?, _ option: String, required purpose: String) throws(PlanCommandError) -> Double {
    guard let text else { throw .missing(option: option, purpose: purpose) }
    return try number(text, option)
}

private func number(_ text: String, _ option: String) throws(PlanCommandError) -> Double {
    let value = try signedNumber(text, option)
    guard value > 0 else { throw .notPositive(option: option, text: text) }
    return value
}

private func signedNumber(_ text: String, _ option: String) throws(PlanCommandError) -> Double {
    var body = text.trimmingCharacters(in: .whitespaces)
    var scale = 1.0
    let suffixes: [Character: Double] = ["K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12]
    if let last = body.last?.uppercased().first, let factor = suffixes[last] {
        scale = factor
        body.removeLast()
    }
    guard let value = Double(body), value.isFinite, (value * scale).isFinite else {
        throw .notANumber(option: option, text: text)
    }
    return value * scale
}

/// Bad command-line input for `plan`, one sentence each.
enum PlanCommandError: Error, CustomStringConvertible {
    case chooseOneMode(given: Int)
    case missing(option: String, purpose: String)
    case notANumber(option: String, text: String)
    case notPositive(option: String, text: String)
    case badChoice(option: String, text: String, choices: String)
    case noHistory(file: String)
    case badTrainer(file: String, tokensPerStep: Double)
    case inCheckpoint(file: String, PlanError)

    var description: String {
        switch self {
        case .chooseOneMode(let given):
            given == 0
                ? "growkit plan needs one question: --target-params with --tokens (stacking rule), --small-params with --batch-tokens and --grow (staged training), or --from CKPT with --grow."
                : "growkit plan got options of \(given) different questions; give only one of --target-params/--tokens, --small-params/--batch-tokens, or --from."
        case .missing(let option, let purpose):
            "\(option) is missing; give it for \(purpose)."
        case .notANumber(let option, let text):
            "\(option) is '\(text)', not a number; give a positive count such as 7e9 or 7B."
        case .notPositive(let option, let text):
            "\(option) is \(text); it must be a positive number."
        case .badChoice(let option, let text, let choices):
            "\(option) is '\(text)'; it must be \(choices)."
        case .noHistory(let file):
            "\(file): /history has no records, so there is no loss curve to judge; train the model (the trainer logs /history) before asking whether to grow."
        case .badTrainer(let file, let tokensPerStep):
            "\(file): /trainer batch_size x seq_len is \(tokensPerStep) tokens per step; it must be positive."
        case .inCheckpoint(let file, let error):
            "\(file): \(error.description)"
        }
    }
}
