// growkit-bench: performance figures against baselines measured in the same run.
// One line per mode: `growkit-bench <mode> [arguments]`.
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "storage": StorageBenchmark.run(arguments: Array(arguments.dropFirst()))
case "state": StateBenchmark.run(arguments: Array(arguments.dropFirst()))
default: print("usage: growkit-bench <mode>; modes: storage, state")
}
