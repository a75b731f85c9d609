import ArgumentParser

@main
struct Growkit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "growkit",
        abstract: "Grow transformer training states (weights, Adam moments, schedule) and prove the loss is preserved.",
        version: growkitVersion,
        subcommands: [
            InspectCommand.self, GrowCommand.self, VerifyCommand.self, DiffCommand.self, EvalCommand.self,
            TrainCommand.self, PlanCommand.self, PlotCommand.self, ConvertCommand.self, DemoCommand.self, MakeFixtureCommand.self,
        ])
}

let growkitVersion = "0.1.0"
