/// Errors of reading and writing safetensors files and sharded folders.
///
/// Every case renders as one sentence naming the file, the tensor (or header part)
/// and what to do, for the CLI to print after `Error: `.
public enum SafeTensorsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file or folder does not exist.
    case fileNotFound(file: String)
    /// The file breaks a rule of the format: `object` is the tensor name or header part.
    case invalid(file: String, object: String, problem: String)
    /// The index file names a shard that is not next to it.
    case missingShard(index: String, shard: String, tensor: String)
    /// A tensor's byte range cannot be read (file shrank, I/O error).
    case readFailure(file: String, tensor: String, reason: String)
    /// A caller asked for something the file or writer cannot honour.
    case invalidArgument(file: String, object: String, problem: String)
    /// A POSIX call failed while writing (open, write, fsync, rename).
    case ioFailure(file: String, operation: String, reason: String)

    public var description: String {
        let text: String
        switch self {
        case .fileNotFound(let file):
            text = "\(file): file not found; check the path"
        case .invalid(let file, let object, let problem):
            text = "\(file): \(object) \(problem), so this is not a valid safetensors file; re-export it with the safetensors package"
        case .missingShard(let index, let shard, let tensor):
            text = "\(index): weight_map puts tensor \(tensor) (and maybe others) in shard \(shard), which is not in the index's folder; copy the complete model folder"
        case .readFailure(let file, let tensor, let reason):
            text = "\(file): cannot read tensor \(tensor) (\(reason)); check that the file is complete and readable"
        case .invalidArgument(let file, let object, let problem):
            text = "\(file): \(object): \(problem)"
        case .ioFailure(let file, let operation, let reason):
            text = "\(file): \(operation) failed (\(reason)); check the folder's permissions and free space"
        }
        return StorageError.oneLine(text) + "."
    }
}
