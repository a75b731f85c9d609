#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one safetensors file atomically, one tensor at a time.
///
/// The header (names, dtypes, shapes, offsets) is fixed at `init` from the declared tensors, so
/// data can then be streamed: ``write(_:)`` takes each tensor's float32 values in the declared
/// order and stores them as the declared dtype (F16/BF16 rounded to nearest even). The file is
/// `.<name>.tmp-<pid>-<random>` in the destination folder until ``commit()`` checks every tensor
/// was written, fsyncs, renames it onto the final name and fsyncs the folder; a writer dropped
/// without `commit()` deletes its temporary file. The header is padded with spaces to a
/// multiple of 8 bytes, as the safetensors package does.
public final class SafeTensorsWriter {
    /// One tensor to be written.
    public struct Declaration: Sendable, Hashable {
        public var name: String
        public var dtype: SafeTensorsDType
        public var shape: [Int]

        public init(name: String, dtype: SafeTensorsDType, shape: [Int]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
        }

        public var byteCount: Int { shape.reduce(1, *) * dtype.size }
    }

    public let destination: String
    public let temporaryPath: String
    public let declarations: [Declaration]
    private let fd: Int32
    private var next = 0
    private var position: Int
    private var finished = false
    private let overwrite: Bool
    private var scratch: [UInt16] = []

    /// Creates the temporary file and writes the header.
    /// - Parameters:
    ///   - metadata: the `__metadata__` pairs (e.g. `["format": "pt"]`, which transformers expects).
    ///   - overwrite: whether `commit()` may replace an existing file at `destination`.
    public init(destination: String, tensors: [Declaration], metadata: [String: String] = ["format": "pt"],
                overwrite: Bool = false) throws(SafeTensorsError) {
        self.destination = destination
        self.declarations = tensors
        self.overwrite = overwrite
        if !overwrite && access(destination, F_OK) == 0 {
            throw .invalidArgument(file: destination, object: "the output file", problem: "it already exists; choose a new path")
        }
        var seen = Set<String>()
        for d in tensors {
            guard seen.insert(d.name).inserted, d.name != "__metadata__" else {
                throw .invalidArgument(file: destination, object: "tensor \(d.name)", problem: "declared twice (or a reserved name)")
            }
            guard d.shape.allSatisfy({ $0 >= 0 }) else {
                throw .invalidArgument(file: destination, object: "tensor \(d.name)", problem: "negative dimension in shape \(d.shape)")
            }
        }
        var members: [(key: String, value: StrictJSON)] = []
        if !metadata.isEmpty {
            members.append(("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        var offset = 0
        for d in tensors {
            members.append((d.name, .object([
                ("dtype", .string(d.dtype.rawValue)),
                ("shape", .array(d.shape.map { .integer($0) })),
                ("data_offsets", .array([.integer(offset), .integer(offset + d.byteCount)])),
            ])))
            offset += d.byteCount
        }
        var header = Array(StrictJSON.object(members).serialized.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        let (folder, name) = AtomicHDF5Writer.split(destination)
        var random = SystemRandomNumberGenerator()
        let suffix = String(random.next() & 0xFFFF_FFFF, radix: 16)
        temporaryPath = (folder == "" ? "" : folder + "/") + ".\(name).tmp-\(getpid())-\(suffix)"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .ioFailure(file: temporaryPath, operation: "creating", reason: String(cString: strerror(errno)))
        }
        position = 0
        var prefix = [UInt8](repeating: 0, count: 8)
        var length = UInt64(header.count)
        for i in 0..<8 { prefix[i] = UInt8(length & 0xFF); length >>= 8 }
        do throws(SafeTensorsError) {
            try writeBytes(prefix)
            try writeBytes(header)
        } catch {
            abandon()
            throw error
        }
    }

    deinit { abandon() }

    /// The declaration of the next tensor ``write(_:)`` expects, or `nil` when all were written.
    public var nextDeclaration: Declaration? { next < declarations.count ? declarations[next] : nil }

    /// Writes the next declared tensor's values (float32, row-major, exactly its element count).
    public func write(_ values: UnsafeBufferPointer<Float>) throws(SafeTensorsError) {
        guard !finished, let d = nextDeclaration else {
            throw .invalidArgument(file: destination, object: "the output file", problem: "more tensors written than declared, or after commit")
        }
        guard values.count == d.shape.reduce(1, *) else {
            abandon()
            throw .invalidArgument(file: destination, object: "tensor \(d.name)", problem: "\(values.count) values given for shape \(d.shape)")
        }
        do throws(SafeTensorsError) {
            switch d.dtype {
            case .f32:
                if let base = values.baseAddress { try writeRaw(UnsafeRawPointer(base), values.count * 4) }
            case .f16, .bf16:
                // Convert in blocks of 1 Mi values so the scratch stays small.
                let block = 1 << 20
                if scratch.count < min(block, values.count) { scratch = [UInt16](repeating: 0, count: min(block, values.count)) }
                var start = 0
                while start < values.count {
                    let n = min(block, values.count - start)
                    let bf16 = d.dtype == .bf16
                    scratch.withUnsafeMutableBufferPointer { out in
                        for i in 0..<n {
                            let v = values[start + i]
                            out[i] = (bf16 ? BFloat16.bits(from: v) : Half.bits(from: v)).littleEndian
                        }
                    }
                    try scratch.withUnsafeBufferPointer { (buffer) throws(SafeTensorsError) in try writeRaw(UnsafeRawPointer(buffer.baseAddress!), n * 2) }
                    start += n
                }
            }
        } catch {
            abandon()
            throw error
        }
        next += 1
    }

    /// Convenience: writes the next declared tensor from an array.
    public func write(_ values: [Float]) throws(SafeTensorsError) {
        try values.withUnsafeBufferPointer { (buffer) throws(SafeTensorsError) in try write(buffer) }
    }

    /// Checks every declared tensor was written, fsyncs, renames onto the destination, fsyncs the folder.
    public func commit() throws(SafeTensorsError) {
        guard !finished else {
            throw .invalidArgument(file: destination, object: "the output file", problem: "commit() after abandon or twice")
        }
        guard next == declarations.count else {
            let missing = declarations[next].name
            abandon()
            throw .invalidArgument(file: destination, object: "tensor \(missing)", problem: "was never written, so the file was not committed")
        }
        if fsync(fd) != 0 {
            let reason = String(cString: strerror(errno))
            abandon()
            throw .ioFailure(file: temporaryPath, operation: "fsync", reason: reason)
        }
        close(fd)
        finished = true
        if !overwrite && access(destination, F_OK) == 0 {
            unlink(temporaryPath)
            throw .invalidArgument(file: destination, object: "the output file", problem: "it appeared while writing; choose a new path")
        }
        if rename(temporaryPath, destination) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw .ioFailure(file: destination, operation: "renaming \(temporaryPath) onto it", reason: reason)
        }
        do {
            try AtomicHDF5Writer.fsyncPath(AtomicHDF5Writer.split(destination).folder, directory: true)
        } catch {
            throw .ioFailure(file: destination, operation: "fsync of the folder", reason: "\(error)")
        }
    }

    /// Closes and deletes the temporary file; idempotent.
    public func abandon() {
        guard !finished else { return }
        finished = true
        close(fd)
        unlink(temporaryPath)
    }

    private func writeBytes(_ bytes: [UInt8]) throws(SafeTensorsError) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(SafeTensorsError) in
            if let base = buffer.baseAddress { try writeRaw(UnsafeRawPointer(base), bytes.count) }
        }
    }

    private func writeRaw(_ base: UnsafeRawPointer, _ count: Int) throws(SafeTensorsError) {
        var done = 0
        while done < count {
            let n = Glibc.write(fd, base + done, min(count - done, 1 << 30))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                throw .ioFailure(file: temporaryPath, operation: "writing", reason: n < 0 ? String(cString: strerror(errno)) : "no progress")
            }
            done += n
        }
        position += count
    }
}
