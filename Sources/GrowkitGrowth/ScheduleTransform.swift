import GrowkitState

/// What happens to the learning-rate schedule and the trainer's step at growth
/// (`grow --schedule`). Tokens seen and the data cursor never change.
public enum ScheduleTransform: Sendable, Hashable {
    /// Same schedule, same step.
    case `continue`
    /// Staged training (Shen et al. 2022): jump the step to `R` on the same schedule,
    /// then re-warm linearly from 0 to the schedule's value over `W` steps
    /// (`rewarm_start = R`, `rewarm_steps = W`). `R = nil` means `S / c` with the
    /// paper's `c` = 1.412 (depth), 1.776 (width), 2.455 (both).
    case rewarm(step: Int?, steps: Int)
    /// A new warmup and decay from step 0 (the stacking paper's practice).
    case restart
    /// Back to the peak learning rate without warmup (MSG): the step goes to the end of warmup.
    case rewind

    public var name: String {
        switch self {
        case .continue: "continue"
        case .rewarm: "rewarm"
        case .restart: "restart"
        case .rewind: "rewind"
        }
    }

    /// Staged training's `c`: how much farther along its schedule a model of the grown
    /// size would be at the same loss (Shen et al. 2022, section 5).
    public static func resumeDivisor(depth: Bool, width: Bool) -> Double {
        switch (depth, width) {
        case (true, true): 2.455
        case (false, true): 1.776
        default: 1.412
        }
    }

    /// The schedule and trainer position after growth.
    public func apply(schedule: Schedule, trainer: TrainerPosition, depth: Bool, width: Bool) -> (Schedule, TrainerPosition) {
        var schedule = schedule
        var trainer = trainer
        switch self {
        case .continue:
            break
        case .rewarm(let step, let steps):
            let jump = step ?? Int((Double(trainer.step) / Self.resumeDivisor(depth: depth, width: width)).rounded())
            trainer.step = jump
            schedule.rewarmStart = jump
            schedule.rewarmSteps = steps
        case .restart:
            trainer.step = 0
            schedule.rewarmStart = nil
            schedule.rewarmSteps = nil
        case .rewind:
            trainer.step = schedule.warmupSteps
            schedule.rewarmStart = nil
            schedule.rewarmSteps = nil
        }
        return (schedule, trainer)
    }
}
