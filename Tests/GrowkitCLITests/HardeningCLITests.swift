import Foundation
import Testing

/// Runs growkit like `runGrowkit`, but kills it after `seconds` (a watchdog, not
/// a timing assertion): a command that blocks (on a FIFO, say) fails the test
/// instead of hanging the suite.
func runGrowkitOrKill(_ arguments: [String], after seconds: Double = 60, currentDirectory: URL? = nil) throws -> (GrowkitRun, killed: Bool) {
    let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let process = Process()
    process.executableURL = testBinary.deletingLastPathComponent().appendingPathComponent("growkit")
    process.arguments = arguments
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    let outPipe = Pipe(), errPipe = Pipe()
    process.standardOutput = outPipe
    process.standardError = errPipe
    try process.run()
    final class Flag: @unchecked Sendable { var killed = false }
    let flag = Flag()
    let pid = process.processIdentifier
    let watchdog = DispatchWorkItem { flag.killed = true; kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: watchdog)
    let out = outPipe.fileHandleForReading.readDataToEndOfFile()
    let err = errPipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    watchdog.cancel()
    return (GrowkitRun(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                       stderr: String(decoding: err, as: UTF8.self)), flag.killed)
}

/// Issue 9, special files: anything that is not a regular file is refused at
/// once with one sentence, never waited on.
@Suite struct SpecialFileTests {
    let llama = fixturesFolder.appendingPathComponent("tiny-llama.h5").path
    let corpus = fixturesFolder.appendingPathComponent("jargon-file-4.4.7.txt.zst").path

    func withFIFO(_ body: (String) throws -> Void) throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("f.h5").path
        try #require(mkfifo(fifo, 0o600) == 0, "mkfifo failed")
        try body(fifo)
    }

    @Test func inspectRefusesAFIFO() throws {
        try withFIFO { fifo in
            for extra in [[], ["--stats"], ["--verify"], ["--json"]] {
                let (run, killed) = try runGrowkitOrKill(["inspect", fifo] + extra, after: 30)
                #expect(!killed, "inspect \(extra) blocked on a FIFO")
                expectCleanFailure(run, mentioning: [fifo, "is a FIFO (named pipe), not a regular file"])
            }
        }
    }

    @Test func planFromAndEvalCheckpointRefuseAFIFO() throws {
        try withFIFO { fifo in
            let (plan, planKilled) = try runGrowkitOrKill(["plan", "--from", fifo, "--grow", "depth"], after: 30)
            #expect(!planKilled, "plan --from blocked on a FIFO")
            expectCleanFailure(plan, mentioning: [fifo, "FIFO"])
            let (eval, evalKilled) = try runGrowkitOrKill(["eval", fifo, "--data", corpus, "--batches", "1"], after: 30)
            #expect(!evalKilled, "eval blocked on a FIFO checkpoint")
            expectCleanFailure(eval, mentioning: [fifo, "FIFO"])
        }
    }

    @Test func evalRefusesAFIFOAsData() throws {
        try withFIFO { fifo in
            let (run, killed) = try runGrowkitOrKill(["eval", llama, "--data", fifo, "--batches", "1"], after: 30)
            #expect(!killed, "eval --data blocked on a FIFO")
            expectCleanFailure(run, mentioning: [fifo, "not a regular file"])
        }
    }

    @Test func aFolderIsNamedOnceAndPlainly() throws {
        let (run, _) = try runGrowkitOrKill(["inspect", fixturesFolder.path], after: 30)
        expectCleanFailure(run, mentioning: ["\(fixturesFolder.path) is a folder, not a regular file"])
        #expect(!run.stderr.contains(": /:"), "\(run.stderr)")
    }

    @Test func devicesAreRefused() throws {
        let (run, killed) = try runGrowkitOrKill(["inspect", "/dev/zero"], after: 30)
        #expect(!killed)
        expectCleanFailure(run, mentioning: ["/dev/zero is a character device"])
    }
}

/// Issue 9, items 3 and 4 at the command line: values from the command line are
/// bounded before any arithmetic, negative numbers reach the range check, and a
/// batch that cannot fit is refused with the memory it needs.
@Suite struct CommandLineBoundsTests {
    let llama = fixturesFolder.appendingPathComponent("tiny-llama.h5").path
    let corpus = fixturesFolder.appendingPathComponent("jargon-file-4.4.7.txt.zst").path

    @Test func hugeSeqLenIsARangeErrorNotATrap() throws {
        let run = try runGrowkit(["eval", llama, "--data", corpus, "--seq-len", "9223372036854775807"])
        expectCleanFailure(run, mentioning: ["--seq-len is 9223372036854775807", "between 1 and 16777216"])
        #expect(run.status == 1)
    }

    @Test(arguments: [["--batches", "-1"], ["--batch-size", "-3"], ["--seq-len", "-9223372036854775808"]])
    func negativeNumbersReachTheRangeCheck(option: [String]) throws {
        let run = try runGrowkit(["eval", llama, "--data", corpus] + option)
        expectCleanFailure(run, mentioning: ["\(option[0]) is \(option[1])"])
        #expect(!run.stderr.contains("Missing value"))
    }

    @Test func batchThatCannotFitNamesTheMemoryItNeeds() throws {
        let run = try runGrowkit(["eval", llama, "--data", corpus, "--batch-size", "4096", "--seq-len", "4096"])
        expectCleanFailure(run, mentioning: [llama, "needs", "GB of memory but only"])
    }
}
