#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The tensors of one safetensors file or of a sharded set (`model-0000i-of-0000n.safetensors`
/// with `model.safetensors.index.json`), read one at a time.
///
/// For an index, every shard it names must exist next to it and be a valid safetensors file,
/// every tensor of `weight_map` must be in the shard it names, every tensor of a shard must be
/// in `weight_map`, and no tensor may appear in two shards.
public final class SafeTensorsShards {
    /// Name of the index file Hugging Face writes next to sharded weights.
    public static let indexFileName = "model.safetensors.index.json"
    /// Largest index file read (bytes).
    public static let maxIndexBytes = 100_000_000

    /// The files, in shard order.
    public let files: [SafeTensorsFile]
    /// Every tensor name, in shard order then data order.
    public let names: [String]
    /// The index file, when sharded.
    public let indexPath: String?
    private let location: [String: (file: Int, entry: SafeTensorsEntry)]

    /// One unsharded file.
    public init(file path: String) throws(SafeTensorsError) {
        let file = try SafeTensorsFile(path: path)
        files = [file]
        names = file.entries.map(\.name)
        indexPath = nil
        location = Dictionary(uniqueKeysWithValues: file.entries.map { ($0.name, (0, $0)) })
    }

    /// A sharded set described by the index file at `indexPath`.
    public init(index indexPath: String) throws(SafeTensorsError) {
        self.indexPath = indexPath
        let bytes = try Self.readSmallFile(indexPath, bound: Self.maxIndexBytes)
        let json: StrictJSON
        do {
            json = try StrictJSON.parse(bytes)
        } catch {
            throw .invalid(file: indexPath, object: "the index", problem: "is not valid JSON (\(error.reason))")
        }
        guard case .object(let map) = json["weight_map"] ?? .null else {
            throw .invalid(file: indexPath, object: "the index", problem: "has no weight_map object")
        }
        let folder = AtomicHDF5Writer.split(indexPath).folder
        var shardOrder: [String] = []
        var wanted: [String: String] = [:]
        for (name, value) in map {
            guard let shard = value.stringValue, !shard.isEmpty, !shard.contains("/"), shard != ".", shard != ".." else {
                throw .invalid(file: indexPath, object: "weight_map entry \(name)", problem: "is not a plain file name in the same folder")
            }
            if !shardOrder.contains(shard) { shardOrder.append(shard) }
            wanted[name] = shard
        }
        shardOrder.sort()
        var files: [SafeTensorsFile] = []
        var names: [String] = []
        var location: [String: (file: Int, entry: SafeTensorsEntry)] = [:]
        for shard in shardOrder {
            let path = (folder.isEmpty ? "" : folder + "/") + shard
            guard access(path, F_OK) == 0 else {
                let tensor = map.first { $0.value.stringValue == shard }?.key ?? "?"
                throw .missingShard(index: indexPath, shard: shard, tensor: tensor)
            }
            let file = try SafeTensorsFile(path: path)
            for entry in file.entries {
                guard let expected = wanted[entry.name] else {
                    throw .invalid(file: path, object: "tensor \(entry.name)", problem: "is not in the weight_map of \(indexPath)")
                }
                guard expected == shard else {
                    throw .invalid(file: path, object: "tensor \(entry.name)", problem: "is in this shard but \(indexPath) maps it to \(expected)")
                }
                guard location[entry.name] == nil else {
                    throw .invalid(file: path, object: "tensor \(entry.name)", problem: "appears in two shards")
                }
                location[entry.name] = (files.count, entry)
                names.append(entry.name)
            }
            files.append(file)
        }
        for (name, shard) in wanted where location[name] == nil {
            throw .invalid(file: indexPath, object: "tensor \(name)", problem: "is mapped to \(shard) but that shard does not hold it")
        }
        self.files = files
        self.names = names
        self.location = location
    }

    /// The header entry of tensor `name`, or `nil`.
    public func entry(named name: String) -> SafeTensorsEntry? { location[name]?.entry }

    /// The path of the file holding tensor `name`, or `nil`.
    public func path(of name: String) -> String? { location[name].map { files[$0.file].path } }

    /// Reads tensor `name` as float32 into `buffer` (exactly its element count), so a caller
    /// streaming many tensors can reuse one allocation.
    public func read(_ name: String, into buffer: UnsafeMutableBufferPointer<Float>) throws(SafeTensorsError) {
        guard let (index, entry) = location[name] else {
            throw .invalidArgument(file: indexPath ?? files.first?.path ?? "?", object: "tensor \(name)", problem: "not in these safetensors files")
        }
        try files[index].read(entry, into: buffer)
    }

    /// Reads a whole small file (index, config) after checking its size against `bound`.
    public static func readSmallFile(_ path: String, bound: Int) throws(SafeTensorsError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw errno == ENOENT ? .fileNotFound(file: path)
                : .ioFailure(file: path, operation: "opening", reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw .invalid(file: path, object: "the file", problem: "is not a regular file")
        }
        guard Int(info.st_size) <= bound else {
            throw .invalid(file: path, object: "the file", problem: "has \(info.st_size) bytes, above the bound of \(bound)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        if !bytes.isEmpty { try SafeTensorsFile.readExactly(fd, into: &bytes, at: 0, file: path, what: "the file") }
        return bytes
    }
}

/// Writes a set of tensors as one `model.safetensors` or, above `maxShardBytes`, as shards
/// `model-0000i-of-0000n.safetensors` plus `model.safetensors.index.json`, streaming one
/// tensor at a time in the declared order. Each file is written atomically
/// (``SafeTensorsWriter``); the set is complete once ``commit()`` returns.
public final class SafeTensorsShardedWriter {
    public let folder: String
    /// File name of each shard and the declarations it holds.
    public let plan: [(file: String, tensors: [SafeTensorsWriter.Declaration])]
    private var shard = 0
    private var writer: SafeTensorsWriter?
    private let metadata: [String: String]

    /// Plans the shards: tensors in order, a new shard when the next tensor would pass
    /// `maxShardBytes` (a tensor larger than that gets a shard of its own), as transformers does.
    public init(folder: String, tensors: [SafeTensorsWriter.Declaration], maxShardBytes: Int = 5_000_000_000,
                metadata: [String: String] = ["format": "pt"]) throws(SafeTensorsError) {
        self.folder = folder
        self.metadata = metadata
        var groups: [[SafeTensorsWriter.Declaration]] = [[]]
        var size = 0
        for d in tensors {
            if !groups[groups.count - 1].isEmpty && size + d.byteCount > maxShardBytes {
                groups.append([])
                size = 0
            }
            groups[groups.count - 1].append(d)
            size += d.byteCount
        }
        let n = groups.count
        func pad(_ i: Int) -> String { let s = String(i); return String(repeating: "0", count: max(0, 5 - s.count)) + s }
        plan = groups.enumerated().map { (i, group) in
            (n == 1 ? "model.safetensors" : "model-\(pad(i + 1))-of-\(pad(n)).safetensors", group)
        }
    }

    deinit { writer?.abandon() }

    /// Writes the next tensor (in the declared order).
    public func write(_ values: UnsafeBufferPointer<Float>) throws(SafeTensorsError) {
        while true {
            if writer == nil {
                guard shard < plan.count else {
                    throw .invalidArgument(file: folder, object: "the output", problem: "more tensors written than declared")
                }
                writer = try SafeTensorsWriter(destination: folder + "/" + plan[shard].file, tensors: plan[shard].tensors,
                                               metadata: metadata)
            }
            if writer!.nextDeclaration != nil { break }
            try writer!.commit()
            writer = nil
            shard += 1
        }
        try writer!.write(values)
    }

    /// Convenience: writes the next tensor from an array.
    public func write(_ values: [Float]) throws(SafeTensorsError) {
        try values.withUnsafeBufferPointer { (buffer) throws(SafeTensorsError) in try write(buffer) }
    }

    /// Commits the last shard and writes the index when sharded.
    public func commit() throws(SafeTensorsError) {
        while shard < plan.count {
            if writer == nil {
                writer = try SafeTensorsWriter(destination: folder + "/" + plan[shard].file, tensors: plan[shard].tensors,
                                               metadata: metadata)
            }
            try writer!.commit()
            writer = nil
            shard += 1
        }
        guard plan.count > 1 else { return }
        let total = plan.reduce(0) { $0 + $1.tensors.reduce(0) { $0 + $1.byteCount } }
        var map: [(key: String, value: StrictJSON)] = []
        for (file, tensors) in plan { for d in tensors { map.append((d.name, .string(file))) } }
        map.sort { $0.key < $1.key }
        let index = StrictJSON.object([
            ("metadata", .object([("total_size", .integer(total))])),
            ("weight_map", .object(map)),
        ])
        try AtomicFile.write(Array((index.serialized + "\n").utf8), to: folder + "/" + SafeTensorsShards.indexFileName)
    }
}

/// Writes a small file atomically: temporary file in the same folder, fsync, rename, fsync the folder.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to destination: String, overwrite: Bool = false) throws(SafeTensorsError) {
        if !overwrite && access(destination, F_OK) == 0 {
            throw .invalidArgument(file: destination, object: "the output file", problem: "it already exists; choose a new path")
        }
        let (folder, name) = AtomicHDF5Writer.split(destination)
        var random = SystemRandomNumberGenerator()
        let temporary = (folder == "" ? "" : folder + "/") + ".\(name).tmp-\(getpid())-\(String(random.next() & 0xFFFF_FFFF, radix: 16))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .ioFailure(file: temporary, operation: "creating", reason: String(cString: strerror(errno))) }
        var ok = false
        defer { if !ok { unlink(temporary) } }
        var done = 0
        let failure: String? = bytes.withUnsafeBytes { raw in
            while done < bytes.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, bytes.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return n < 0 ? String(cString: strerror(errno)) : "no progress" }
                done += n
            }
            return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
        }
        close(fd)
        if let failure { throw .ioFailure(file: temporary, operation: "writing", reason: failure) }
        guard rename(temporary, destination) == 0 else {
            throw .ioFailure(file: destination, operation: "renaming \(temporary) onto it", reason: String(cString: strerror(errno)))
        }
        ok = true
        try? AtomicHDF5Writer.fsyncPath(folder, directory: true)
    }
}
