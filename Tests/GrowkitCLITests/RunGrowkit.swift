import Foundation
import Testing

/// The result of running the built `growkit` executable once.
struct GrowkitRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the `growkit` executable built beside this test bundle (SwiftPM puts
/// both in the same products folder) and captures its exit status and output.
func runGrowkit(_ arguments: [String], currentDirectory: URL? = nil) throws -> GrowkitRun {
    let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let executable = testBinary.deletingLastPathComponent().appendingPathComponent("growkit")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    let outPipe = Pipe(), errPipe = Pipe()
    process.standardOutput = outPipe
    process.standardError = errPipe
    try process.run()
    // Read before waiting so a large output cannot fill the pipe and deadlock.
    let out = outPipe.fileHandleForReading.readDataToEndOfFile()
    let err = errPipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return GrowkitRun(status: process.terminationStatus,
                      stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: err, as: UTF8.self))
}

/// A fresh empty folder for one test, removed by the caller with `defer`.
func makeTemporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("growkit-cli-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The repository's `fixtures/` folder.
let fixturesFolder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("fixtures")

/// Asserts the contract for bad input: non-zero exit, exactly one line on
/// stderr that mentions `mentioning`, no Swift trap, no HDF5 error stack.
func expectCleanFailure(_ run: GrowkitRun, mentioning needles: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(run.status != 0, "expected a non-zero exit", sourceLocation: sourceLocation)
    #expect(run.status < 128, "terminated by a signal (trap?): \(run.status)", sourceLocation: sourceLocation)
    let lines = run.stderr.split(separator: "\n", omittingEmptySubsequences: true)
    #expect(lines.count == 1, "expected one line on stderr, got:\n\(run.stderr)", sourceLocation: sourceLocation)
    #expect(!run.stderr.contains("HDF5-DIAG"), "HDF5 error stack leaked:\n\(run.stderr)", sourceLocation: sourceLocation)
    #expect(!run.stderr.contains("Fatal error"), "Swift trap:\n\(run.stderr)", sourceLocation: sourceLocation)
    for needle in needles {
        #expect(run.stderr.contains(needle), "stderr does not mention \(needle):\n\(run.stderr)", sourceLocation: sourceLocation)
    }
}

@Suite struct CLISmokeTests {
    @Test func versionPrints() throws {
        let run = try runGrowkit(["--version"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("0.1"))
    }

    @Test func unknownSubcommandFailsCleanly() throws {
        let run = try runGrowkit(["no-such-command"])
        #expect(run.status != 0 && run.status < 128)
    }
}
