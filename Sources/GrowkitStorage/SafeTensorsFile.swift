#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One tensor of a safetensors header.
public struct SafeTensorsEntry: Sendable, Hashable {
    public var name: String
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    /// Absolute byte range in the file (header length and header already added).
    public var byteRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file opened read-only: header parsed and validated, tensors read one at a
/// time with `pread` of their byte range (never the whole file).
///
/// Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`
/// (offsets relative to the data region after the header), then the data. `init` enforces:
/// N at most ``maxHeaderBytes`` and inside the file, valid UTF-8 JSON without duplicate
/// names, known dtypes (F32, F16, BF16), non-negative shapes whose element count times the
/// dtype size equals the byte length, and offsets that cover the data region exactly
/// (contiguous, non-overlapping, ending at the end of the file).
public final class SafeTensorsFile {
    /// Largest header accepted (the safetensors package's own bound: 100 MB).
    public static let maxHeaderBytes = 100_000_000

    public let path: String
    /// Tensors in data order (ascending offsets).
    public let entries: [SafeTensorsEntry]
    /// The string pairs of `__metadata__` (empty when absent).
    public let metadata: [String: String]
    /// File size in bytes at open.
    public let fileSize: Int
    private let byName: [String: Int]
    private let fd: Int32

    /// Opens `path` and validates its header; nothing but the header is read.
    public init(path: String) throws(SafeTensorsError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw errno == ENOENT ? .fileNotFound(file: path)
                : .ioFailure(file: path, operation: "opening", reason: String(cString: strerror(errno)))
        }
        var ok = false
        defer { if !ok { close(fd) } }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .ioFailure(file: path, operation: "fstat", reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .invalid(file: path, object: "the file", problem: "is not a regular file")
        }
        let size = Int(info.st_size)
        guard size >= 8 else {
            throw .invalid(file: path, object: "the header length", problem: "is missing (the file has \(size) bytes, fewer than 8)")
        }
        var lengthBytes = [UInt8](repeating: 0, count: 8)
        try Self.readExactly(fd, into: &lengthBytes, at: 0, file: path, what: "the header length")
        let length = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(Self.maxHeaderBytes) else {
            throw .invalid(file: path, object: "the header length", problem: "is \(length) bytes, above the bound of \(Self.maxHeaderBytes)")
        }
        guard Int(length) <= size - 8 else {
            throw .invalid(file: path, object: "the header length", problem: "is \(length) bytes but the file has only \(size - 8) after it (truncated?)")
        }
        var header = [UInt8](repeating: 0, count: Int(length))
        try Self.readExactly(fd, into: &header, at: 8, file: path, what: "the header")
        let json: StrictJSON
        do {
            json = try StrictJSON.parse(header)
        } catch {
            throw .invalid(file: path, object: "the header", problem: "is not valid JSON (\(error.reason))")
        }
        guard case .object(let members) = json else {
            throw .invalid(file: path, object: "the header", problem: "is not a JSON object")
        }
        let dataStart = 8 + Int(length)
        let dataLength = size - dataStart
        var entries: [SafeTensorsEntry] = []
        var metadata: [String: String] = [:]
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw .invalid(file: path, object: "__metadata__", problem: "is not an object of strings")
                }
                for (key, item) in pairs {
                    guard let text = item.stringValue else {
                        throw .invalid(file: path, object: "__metadata__ key \(key)", problem: "is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            entries.append(try Self.entry(name, value, dataStart: dataStart, dataLength: dataLength, file: path))
        }
        entries.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        var cursor = dataStart
        for entry in entries {
            if entry.byteRange.lowerBound < cursor {
                throw .invalid(file: path, object: "tensor \(entry.name)", problem: "overlaps the tensor before it (data_offsets begin \(entry.byteRange.lowerBound - dataStart) < \(cursor - dataStart))")
            }
            if entry.byteRange.lowerBound > cursor {
                throw .invalid(file: path, object: "tensor \(entry.name)", problem: "leaves a gap before it (data_offsets begin \(entry.byteRange.lowerBound - dataStart), expected \(cursor - dataStart))")
            }
            cursor = entry.byteRange.upperBound
        }
        guard cursor == size else {
            throw .invalid(file: path, object: "the data region", problem: "is not covered exactly: the tensors end at byte \(cursor - dataStart) of \(dataLength)")
        }
        self.entries = entries
        self.metadata = metadata
        self.fileSize = size
        self.fd = fd
        self.byName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
        ok = true
    }

    deinit { close(fd) }

    /// The entry of tensor `name`, or `nil`.
    public func entry(named name: String) -> SafeTensorsEntry? { byName[name].map { entries[$0] } }

    /// Reads tensor `entry` (of this file) as float32, converting F16 and BF16 exactly.
    public func readFloats(_ entry: SafeTensorsEntry) throws(SafeTensorsError) -> [Float] {
        var failure: SafeTensorsError?
        // No zero fill: the read overwrites every element (or the array is dropped on error).
        let result = [Float](unsafeUninitializedCapacity: entry.elementCount) { buffer, initialized in
            do throws(SafeTensorsError) {
                try read(entry, into: buffer)
            } catch {
                failure = error
                buffer.initialize(repeating: 0)
            }
            initialized = buffer.count
        }
        if let failure { throw failure }
        return result
    }

    /// Reads tensor `entry` into `buffer` (exactly `entry.elementCount` floats).
    public func read(_ entry: SafeTensorsEntry, into buffer: UnsafeMutableBufferPointer<Float>) throws(SafeTensorsError) {
        guard buffer.count == entry.elementCount, byName[entry.name].map({ entries[$0] }) == entry else {
            throw .invalidArgument(file: path, object: "tensor \(entry.name)", problem: "not an entry of this file, or a buffer of the wrong size")
        }
        guard let base = buffer.baseAddress, entry.elementCount > 0 else { return }
        switch entry.dtype {
        case .f32:
            try Self.preadAll(fd, UnsafeMutableRawPointer(base), entry.byteRange, file: path, tensor: entry.name)
        case .f16, .bf16:
            // Read the 16-bit values into the upper half of the float buffer, widen front to back.
            let count = entry.elementCount
            let raw = UnsafeMutableRawPointer(base)
            let halves = raw.advanced(by: 2 * count).bindMemory(to: UInt16.self, capacity: count)
            try Self.preadAll(fd, UnsafeMutableRawPointer(halves), entry.byteRange, file: path, tensor: entry.name)
            let isBF16 = entry.dtype == .bf16
            for i in 0..<count {
                // Element i is read (at byte 2 count + 2 i) before float i (bytes 4 i ..< 4 i + 4) is written:
                // 4 i + 4 <= 2 count + 2 i + 2 only while i < count; writes never pass unread halves.
                let h = UInt16(littleEndian: halves[i])
                base[i] = isBF16 ? BFloat16.float(fromBits: h) : Half.float(fromBits: h)
            }
        }
    }

    // MARK: - internals

    static func entry(_ name: String, _ value: StrictJSON, dataStart: Int, dataLength: Int, file: String) throws(SafeTensorsError) -> SafeTensorsEntry {
        let object = "tensor \(name)"
        guard case .object = value else { throw .invalid(file: file, object: object, problem: "is not a JSON object") }
        guard let dtypeName = value["dtype"]?.stringValue else {
            throw .invalid(file: file, object: object, problem: "has no string dtype")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw .invalid(file: file, object: object, problem: "has dtype \(dtypeName), which growkit does not read (it reads F32, F16 and BF16)")
        }
        guard case .array(let dims) = value["shape"] ?? .null else {
            throw .invalid(file: file, object: object, problem: "has no shape array")
        }
        var shape: [Int] = []
        var count = 1
        for dim in dims {
            guard let d = dim.intValue, d >= 0, case .integer = dim else {
                throw .invalid(file: file, object: object, problem: "has shape entry \(dim.serialized), not a non-negative integer")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= dataLength else {
                throw .invalid(file: file, object: object, problem: "has shape \(StrictJSON.array(dims).serialized), larger than the file's data region of \(dataLength) bytes")
            }
            shape.append(d)
            count = product
        }
        guard case .array(let offsets) = value["data_offsets"] ?? .null, offsets.count == 2,
              case .integer(let begin) = offsets[0], case .integer(let end) = offsets[1] else {
            throw .invalid(file: file, object: object, problem: "has no data_offsets [begin, end] of two integers")
        }
        guard begin >= 0, begin <= end, end <= dataLength else {
            throw .invalid(file: file, object: object, problem: "has data_offsets [\(begin), \(end)] outside the data region of \(dataLength) bytes")
        }
        guard end - begin == count * dtype.size else {
            throw .invalid(file: file, object: object, problem: "has \(end - begin) bytes but shape \(shape) of \(dtype.rawValue) needs \(count * dtype.size)")
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: (dataStart + begin)..<(dataStart + end))
    }

    static func readExactly(_ fd: Int32, into bytes: inout [UInt8], at offset: Int, file: String, what: String) throws(SafeTensorsError) {
        let count = bytes.count
        try bytes.withUnsafeMutableBufferPointer { (buffer) throws(SafeTensorsError) in
            guard let base = buffer.baseAddress, count > 0 else { return }
            try preadAll(fd, UnsafeMutableRawPointer(base), offset..<(offset + count), file: file, tensor: what)
        }
    }

    static func preadAll(_ fd: Int32, _ base: UnsafeMutableRawPointer, _ range: Range<Int>, file: String, tensor: String) throws(SafeTensorsError) {
        var done = 0
        let total = range.count
        while done < total {
            let n = pread(fd, base + done, min(total - done, 1 << 30), off_t(range.lowerBound + done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .readFailure(file: file, tensor: tensor, reason: String(cString: strerror(errno))) }
            if n == 0 { throw .readFailure(file: file, tensor: tensor, reason: "the file ends before the tensor's last byte") }
            done += n
        }
    }
}
