import ArgumentParser
import Foundation
import GrowkitStorage

/// The exit convention (README, "Commands"): 0 for success and for `--help` /
/// `--version`; 1 for every error, bad usage included (argument-parser's default
/// would be 64, EX_USAGE, for usage errors); never a signal. Every error is one
/// line on stderr: usage errors name the option and point at `--help` instead
/// of printing the usage block.
extension Growkit {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        CrashGuard.install()
        do {
            try refuseUnknownHelpTopic(arguments)
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let code as ExitCode {
            // A command that chose its own status (e.g. a verdict) keeps it.
            exit(withError: code)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))  // --help, --version, `help COMMAND`
                Foundation.exit(0)
            }
            var message = message(for: error)
            if exitCode(for: error).rawValue == 64 {  // bad usage: one line, pointing at the help
                let command = arguments.first { name in subcommandNames.contains(name) }.map { "growkit \($0)" } ?? "growkit"
                while message.last == "." || message.last == "\n" { message.removeLast() }
                message = message.replacingOccurrences(of: "\n", with: " ") + "; see '\(command) --help'."
            }
            FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
            Foundation.exit(1)
        }
    }

    private static var subcommandNames: [String] {
        configuration.subcommands.compactMap { $0.configuration.commandName }
    }

    /// `growkit help bogus` printed the top-level help and exited 0.
    private static func refuseUnknownHelpTopic(_ arguments: [String]) throws {
        guard arguments.first == "help", arguments.count >= 2, !arguments[1].hasPrefix("-"),
              !subcommandNames.contains(arguments[1]) else { return }
        throw ValidationError("'\(arguments[1])' is not a growkit command; the commands are \(subcommandNames.joined(separator: ", "))")
    }
}
