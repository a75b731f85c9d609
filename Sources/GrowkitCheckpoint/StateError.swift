import GrowkitState
import GrowkitStorage

/// Errors of reading and writing checkpoints (format v1). Every case renders as one sentence that names
/// the file and the object (`description`), for the CLI to print as is:
/// `<file>: <object> <what is wrong>; <what to do>.`
public enum StateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A failure of the storage layer (file missing, not HDF5, truncated, I/O), already one sentence.
    case storage(StorageError)
    /// Root attribute `format` is not `growkit.training-state`.
    case wrongFormat(file: String, found: String)
    /// Root attribute `format_version` is newer than this reader knows.
    case unsupportedFormatVersion(file: String, found: Int)
    /// A required group or dataset (`kind`) is absent.
    case missingObject(file: String, object: String, kind: String)
    /// A required attribute is absent.
    case missingAttribute(file: String, object: String, attribute: String)
    /// An attribute or dataset has the wrong HDF5 type or rank.
    case wrongType(file: String, object: String, expected: String, found: String)
    /// An attribute's value is out of range or not one of the allowed values.
    case invalidValue(file: String, object: String, problem: String)
    /// The `/config` attributes are present but describe an invalid model.
    case invalidConfigInFile(file: String, problem: String)
    /// A tensor's shape disagrees with the one `/config` implies.
    case wrongShape(file: String, object: String, found: [Int], expected: [Int])
    /// A dataset below `/params` or `/optimizer` that the parameter table does not have.
    case unexpectedDataset(file: String, object: String)
    /// fletcher32 found a chunk whose bytes do not match its checksum.
    case corrupted(file: String, object: String)
    /// A caller asked for a parameter name the config does not have.
    case unknownParameter(file: String, name: String)
    /// A writer was asked to write onto the file it reads from.
    case outputIsInput(file: String)
    /// `commit()` found parameters of the table that were never written.
    case incompleteCheckpoint(file: String, missing: [String])
    /// A writer was given data that does not fit the checkpoint (duplicate, wrong shape, ...).
    case invalidWrite(file: String, object: String, problem: String)
    /// What the command must hold in memory (`what`) is larger than what this process can allocate.
    case insufficientMemory(file: String, what: String, neededBytes: Int, availableBytes: Int)

    /// Moments (or another optimizer part) asked of a weights-only state.
    case weightsOnly(file: String, asked: String)

    public var description: String {
        let text: String
        switch self {
        case .storage(let error):
            text = error.description
        case .wrongFormat(let file, let found):
            text = "\(file): root attribute format is '\(found)', not 'growkit.training-state'; this is not a growkit checkpoint v1"
        case .unsupportedFormatVersion(let file, let found):
            text = "\(file): root attribute format_version is \(found) but this growkit reads format version 1 only; upgrade growkit to read it"
        case .missingObject(let file, let object, let kind):
            text = "\(file): required \(kind) \(object) is missing; the file is incomplete or not a growkit checkpoint v1"
        case .missingAttribute(let file, let object, let attribute):
            text = "\(file): required attribute \(attribute) of \(object) is missing; the file is incomplete or not a growkit checkpoint v1"
        case .wrongType(let file, let object, let expected, let found):
            text = "\(file): \(object) is \(found) but format v1 requires \(expected); rewrite it with the right type"
        case .invalidValue(let file, let object, let problem):
            text = "\(file): \(object) \(problem); fix the value or regenerate the file"
        case .invalidConfigInFile(let file, let problem):
            text = "\(file): /config is invalid: \(problem); fix /config or regenerate the file"
        case .wrongShape(let file, let object, let found, let expected):
            text = "\(file): \(object) has shape \(found) but the config implies \(expected); the file does not match its /config"
        case .unexpectedDataset(let file, let object):
            text = "\(file): \(object) is not a parameter of the model /config describes; the file does not match its /config"
        case .corrupted(let file, let object):
            text = "\(file): \(object) fails its fletcher32 checksum, so the file is corrupted; restore it from a good copy"
        case .unknownParameter(let file, let name):
            text = "\(file): the model has no parameter \(name); use a name of the config's parameter table (growkit inspect lists them)"
        case .outputIsInput(let file):
            text = "\(file): the output is the input file; write to a new path (the input is never overwritten)"
        case .incompleteCheckpoint(let file, let missing):
            let shown = missing.prefix(3).joined(separator: ", ") + (missing.count > 3 ? " and \(missing.count - 3) more" : "")
            text = "\(file): \(missing.count) parameter(s) were never written (\(shown)), so the checkpoint was not committed; write every parameter of the table"
        case .weightsOnly(let file, let asked):
            text = "\(file): is a weights-only state (no /optimizer), so it has no \(asked); read the parameters only, or start a fresh optimizer (readAll gives zero moments)"
        case .invalidWrite(let file, let object, let problem):
            text = "\(file): cannot write \(object): \(problem)"
        case .insufficientMemory(let file, let what, let needed, let available):
            text = "\(file): \(what) needs \(SystemMemory.describe(needed)) of memory but only \(SystemMemory.describe(available)) is available; run it on a machine with more memory or free some"
        }
        return Self.oneSentence(text)
    }

    /// Newlines collapsed to spaces, exactly one final period.
    static func oneSentence(_ text: String) -> String {
        var line = String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
        while line.last == "." || line.last == " " { line.removeLast() }
        return StorageError.elideLongWords(line) + "."
    }
}
