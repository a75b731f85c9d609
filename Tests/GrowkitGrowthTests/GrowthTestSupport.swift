import Foundation
import GrowkitCheckpoint
import GrowkitGrowth
import GrowkitModel
import GrowkitRandom
import GrowkitState

/// The repository's fixtures folder.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures").path

/// Source states at two sizes per family: the Hugging Face fixtures (hidden 64 and 48,
/// weights spread so logits are far from uniform) and the tiny ones (hidden 32).
enum Source: String, CaseIterable, CustomStringConvertible {
    case gpt2Tied = "hf/gpt2_tied.h5", llamaGQA = "hf/llama_gqa.h5", llamaMQA = "hf/llama_mqa.h5"
    case llamaHeadDim = "hf/llama_head_dim.h5", tinyGPT2 = "tiny-gpt2.h5", tinyLlama = "tiny-llama.h5"

    var description: String { rawValue }

    func state() throws -> TrainingState { try CheckpointReader(path: fixtures + "/" + rawValue).readAll() }
}

/// A seeded batch of `B x T` tokens and next-token targets.
func batch(vocab: Int, batchSize: Int = 2, seqLen: Int = 24, seed: UInt64 = 7) -> (tokens: [Int32], targets: [Int32]) {
    var rng = Xoshiro256StarStar(seed: seed)
    let stream = (0..<(batchSize * seqLen + 1)).map { _ in Int32(rng.nextInt(below: vocab)) }
    return (Array(stream.dropLast()), Array(stream.dropFirst()))
}

/// Both models on the same batch: the losses and the largest logit difference.
func compare(_ a: TrainingState, _ b: TrainingState) throws -> (lossA: Float, lossB: Float, maxLogitDiff: Float) {
    let (tokens, targets) = batch(vocab: a.config.vocabSize)
    let outA = try ModelWeights(config: a.config, parameters: a.parameters)
        .forward(tokens: tokens, targets: targets, batchSize: 2, seqLen: 24)
    let outB = try ModelWeights(config: b.config, parameters: b.parameters)
        .forward(tokens: tokens, targets: targets, batchSize: 2, seqLen: 24)
    let diff = zip(outA.logits.data, outB.logits.data).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    return (outA.loss!, outB.loss!, diff)
}

/// Grows `state` in memory with the operators as the CLI spells them.
func grow(_ state: TrainingState, depth: String? = nil, width: String? = nil, seed: UInt64 = 1,
          optimizer: OptimizerTransfer = .carry, schedule: ScheduleTransform = .continue) throws -> TrainingState {
    let plan = try GrowthPlan(source: state.config, depth: depth.map(OperatorSyntax.depth),
                              width: width.map(OperatorSyntax.width), seed: seed)
    let operators = [depth.map { "depth=\($0)" }, width.map { "width=\($0)" }].compactMap { $0 }
    let record = ProvenanceRecord(operatorName: "grow", toolVersion: "test",
                                  growth: plan.record(operators: operators), time: "2026-01-01T00:00:00Z")
    let grown = plan.apply(to: state, optimizer: optimizer, schedule: schedule, record: record)
    if let problem = grown.problem() { throw GrowthTestFailure(problem) }
    return grown
}

struct GrowthTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
