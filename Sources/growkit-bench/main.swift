// growkit-bench: performance figures against baselines measured in the same run.
// One line per mode: `growkit-bench <mode> [arguments]`.
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "forward": ForwardBenchmark.run(arguments: Array(arguments.dropFirst()))
case "storage": StorageBenchmark.run(arguments: Array(arguments.dropFirst()))
default: print("usage: growkit-bench <mode>; modes: forward, storage")
}
