// growkit-bench: performance figures against baselines measured in the same run.
// One line per mode: `growkit-bench <mode> [arguments]`.
#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "storage": StorageBenchmark.run(arguments: Array(arguments.dropFirst()))
case "state": StateBenchmark.run(arguments: Array(arguments.dropFirst()))
case "forward": ForwardBenchmark.run(arguments: Array(arguments.dropFirst()))
case "data": DataBenchmark.run(arguments: Array(arguments.dropFirst()))
case "grow": GrowBenchmark.run(arguments: Array(arguments.dropFirst()))
case "train": TrainBenchmark.run(arguments: Array(arguments.dropFirst()))
case "verify-gradients": VerifyGradientsBenchmark.run(arguments: Array(arguments.dropFirst()))
case "convert": ConvertBenchmark.run(arguments: Array(arguments.dropFirst()))
default:
    print("usage: growkit-bench <mode> [arguments]; modes: storage, state, forward, data, grow, train, verify-gradients, convert")
    exit(arguments.first == nil ? 0 : 2)
}
