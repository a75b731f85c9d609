import Foundation
import Testing

/// `growkit demo` on a full disk and with an output folder it cannot make.
@Suite(.serialized) struct FullDiskCLITests {
    /// A 1 MB tmpfs holds the quick demo's small checkpoint (0.3 MB) but not its grown
    /// one (1.2 MB): one sentence, exit 1, no temporary file, the previous grown file intact. Mounting needs root,
    /// which CI has; without root the test fails and says so (it never skips).
    @Test func demoOnAFullDiskSaysHowMuchToFree() throws {
        try #require(geteuid() == 0, "this test mounts a 1 MB tmpfs and must run as root (CI does)")
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let mount = folder.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
        let mounted = try runProgram("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.path])
        try #require(mounted == 0, "mount -t tmpfs failed")
        defer { _ = try? runProgram("/bin/umount", [mount.path]) }
        let out = mount.appendingPathComponent("growkit-demo")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let previous = out.appendingPathComponent("grown.h5")
        try "previous".write(to: previous, atomically: false, encoding: .utf8)

        let run = try runGrowkit(["demo", "--quick", "--json", "--fixtures", fixturesFolder.path], currentDirectory: mount)
        expectCleanFailure(run, mentioning: ["no space left on \(mount.path) while writing growkit-demo/grown.h5: free ", " MB and retry"])
        #expect(run.status == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == ["grown.h5", "small.h5"])
        #expect(try String(contentsOf: previous, encoding: .utf8) == "previous")
    }

    @Test func demoOutputFolderThatCannotBeMadeIsOneSentence() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let blocker = folder.appendingPathComponent("blocker")
        try "a file".write(to: blocker, atomically: false, encoding: .utf8)
        let run = try runGrowkit(["demo", "--fixtures", fixturesFolder.path, "--out", blocker.appendingPathComponent("out").path],
                                 currentDirectory: folder)
        expectCleanFailure(run, mentioning: [blocker.path, "a file is in its place"])
        #expect(!run.stderr.contains("NSCocoaErrorDomain"))
    }
}

/// Runs a program to completion and returns its exit status.
func runProgram(_ path: String, _ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}
