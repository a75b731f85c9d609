import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open HDF5 dataset.
///
/// Whole-dataset reads and writes take or return row-major (C order) arrays.
/// The row-range methods select a hyperslab along the first axis, so a large
/// tensor can be streamed in slabs of rows without holding it whole.
public final class HDF5Dataset: HDF5Object {
    // Metadata read once per handle: growkit never changes a dataset's extent
    // or pipeline after creation, and row-slab streaming asks for it per slab.
    private var cachedShapeAndType: (shape: [Int], elementType: ElementType)? = nil
    private var cachedInfo: DatasetInfo? = nil
    private var cachedLayout: RowChunkLayout?? = nil
    /// The chunk runs of a whole-dataset read (HDF5Dataset+ReadAhead.swift), once per handle.
    var cachedWholeReadPlan: ChunkRunPlan?? = nil

    /// Shape and stored element type, read from the dataset's header.
    public func shapeAndType() throws(StorageError) -> (shape: [Int], elementType: ElementType) {
        if let cachedShapeAndType { return cachedShapeAndType }
        HDF5Library.ensure()
        let id = try openID()
        let space = try site.check(H5Dget_space(id), "read the shape of")
        defer { H5Sclose(space) }
        let rank = try site.check(H5Sget_simple_extent_ndims(space), "read the rank of")
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        if rank > 0 { try site.check(H5Sget_simple_extent_dims(space, &dims, nil), "read the shape of") }
        var shape: [Int] = []
        for d in dims {
            guard d <= hsize_t(Int.max) else {
                throw .tooLarge(file: filePath, object: objectPath, reason: "a dimension of \(d)")
            }
            shape.append(Int(d))
        }
        let type = try site.check(H5Dget_type(id), "read the type of")
        defer { H5Tclose(type) }
        try requireDataInThisFile(id)
        cachedShapeAndType = (shape, ElementType.of(type))
        return (shape, ElementType.of(type))
    }

    /// Refuses a dataset whose bytes live outside this file: external raw data
    /// files (`H5Pset_external`) and virtual datasets. Like external links, they
    /// would make growkit read other files (docs/FORMAT.md, "Links").
    private func requireDataInThisFile(_ id: hid_t) throws(StorageError) {
        let dcpl = try site.check(H5Dget_create_plist(id), "read the creation properties of")
        defer { H5Pclose(dcpl) }
        if H5Pget_layout(dcpl) == H5D_VIRTUAL {
            throw .link(file: filePath, object: objectPath, link: "a virtual dataset mapping data from other files")
        }
        let external = try site.check(H5Pget_external_count(dcpl), "read the storage of")
        if external > 0 {
            throw .link(file: filePath, object: objectPath, link: "a dataset whose raw data is stored in \(external) external file(s)")
        }
    }

    /// Shape, element type, chunk shape and filters, without reading data.
    public func info() throws(StorageError) -> DatasetInfo {
        if let cachedInfo { return cachedInfo }
        let (shape, elementType) = try shapeAndType()
        let count = try checkedCount(shape, site)
        let id = try openID()
        let dcpl = try site.check(H5Dget_create_plist(id), "read the creation properties of")
        defer { H5Pclose(dcpl) }
        var chunkShape: [Int]? = nil
        if H5Pget_layout(dcpl) == H5D_CHUNKED {
            var chunk = [hsize_t](repeating: 0, count: max(shape.count, 1))
            let rank = try site.check(H5Pget_chunk(dcpl, Int32(chunk.count), &chunk), "read the chunks of")
            chunkShape = chunk.prefix(Int(rank)).map { Int(clamping: $0) }
        }
        let filterCount = try site.check(H5Pget_nfilters(dcpl), "read the filters of")
        var filters: [FilterInfo] = []
        for index in 0..<UInt32(filterCount) {
            var flags: UInt32 = 0
            var cdCount = 16
            var cd = [UInt32](repeating: 0, count: cdCount)
            var name = [CChar](repeating: 0, count: 128)
            var config: UInt32 = 0
            let filterID = H5Pget_filter2(dcpl, index, &flags, &cdCount, &cd, name.count, &name, &config)
            try site.check(filterID, "read the filters of")
            filters.append(FilterInfo(id: filterID, cdValues: Array(cd.prefix(min(cdCount, 16))), name: stringFromCBuffer(name)))
        }
        let info = DatasetInfo(shape: shape, elementType: elementType, chunkShape: chunkShape, filters: filters, elementCount: count)
        cachedInfo = info
        return info
    }

    /// The direct chunk I/O layout (HDF5Dataset+DirectChunks.swift), once per handle.
    func directLayout() throws(StorageError) -> RowChunkLayout? {
        if let cachedLayout { return cachedLayout }
        let info = try info()
        let layout = try rowChunkLayout(info, stored: info.elementType)
        cachedLayout = .some(layout)
        return layout
    }

    /// Bytes this dataset takes in the file (after compression), from HDF5.
    public func storageSize() throws(StorageError) -> UInt64 {
        HDF5Library.ensure()
        return UInt64(H5Dget_storage_size(try openID()))
    }

    /// Whether every element has stored bytes: all chunks of a chunked dataset
    /// allocated (whatever its filters), a contiguous one allocated in full. A
    /// never-written dataset reads as fill values, so a small file can declare
    /// millions of them; callers that must not trust such a declaration check this.
    public func isFullyWritten() throws(StorageError) -> Bool {
        let info = try info()
        if info.elementCount == 0 { return true }
        let id = try openID()
        guard let chunk = info.chunkShape else {
            return storageSizeCoversData(info)
        }
        var expected: hsize_t = 1
        for (extent, size) in zip(info.shape, chunk) where size > 0 {
            expected *= hsize_t((extent + size - 1) / size)
        }
        var allocated: hsize_t = 0
        let space = try site.check(H5Dget_space(id), "read the shape of")
        defer { H5Sclose(space) }
        try site.check(H5Dget_num_chunks(id, space, &allocated), "count the chunks of")
        return allocated >= expected
    }

    private func storageSizeCoversData(_ info: DatasetInfo) -> Bool {
        let stored = H5Dget_storage_size(rawID)
        let (bytes, overflow) = info.elementCount.multipliedReportingOverflow(by: max(1, info.elementType.size))
        return !overflow && stored >= UInt64(bytes)
    }

    // MARK: whole dataset

    /// Reads the whole dataset; the stored type must be `T`'s.
    public func read<T: HDF5Numeric>(_ type: T.Type = T.self) throws(StorageError) -> [T] {
        try wholeArray { buffer throws(StorageError) in try read(into: buffer) }
    }

    /// An array of the dataset's element count of `T` (the stored type must be `T`'s, and the
    /// count fit in memory), filled by `fill` with the whole dataset.
    func wholeArray<T: HDF5Numeric>(
        _ fill: (UnsafeMutableBufferPointer<T>) throws(StorageError) -> Void
    ) throws(StorageError) -> [T] {
        let (shape, elementType) = try shapeAndType()
        try requireType(T.elementType, found: elementType)
        let count = try checkedCount(shape, site)
        try requireFitsInMemory(count, MemoryLayout<T>.stride)
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized throws(StorageError) in
            try fill(buffer)
            initialized = count
        }
    }

    /// Shape and element count of a whole-dataset read into `buffer`: the stored type must be
    /// `T`'s and `buffer` exactly as long as the dataset.
    func wholeReadShape<T: HDF5Numeric>(into buffer: UnsafeMutableBufferPointer<T>) throws(StorageError) -> (shape: [Int], count: Int) {
        let (shape, elementType) = try shapeAndType()
        try requireType(T.elementType, found: elementType)
        let count = try checkedCount(shape, site)
        guard buffer.count == count else {
            throw .wrongShape(file: filePath, object: objectPath, expected: "a buffer of \(buffer.count) elements", found: "\(count) elements (shape \(shape))")
        }
        return (shape, count)
    }

    /// Reads the whole dataset into `buffer`, whose count must equal the element count.
    public func read<T: HDF5Numeric>(into buffer: UnsafeMutableBufferPointer<T>) throws(StorageError) {
        let (shape, count) = try wholeReadShape(into: buffer)
        guard count > 0 else { return }
        if let rows = shape.first {
            try transferRows(0..<rows, T.elementType, UnsafeMutableRawPointer(buffer.baseAddress), count, writing: false)
            return
        }
        let status = H5Dread(rawID, T.elementType.hdf5Types!.memory, growkit_H5S_ALL(), growkit_H5S_ALL(), growkit_H5P_DEFAULT(), buffer.baseAddress)
        if status < 0 { throw site.error("read") }
    }

    /// Writes the whole dataset; `values.count` must equal the element count.
    public func write<T: HDF5Numeric>(_ values: [T]) throws(StorageError) {
        try values.withUnsafeBufferPointer { buffer throws(StorageError) in try write(from: buffer) }
    }

    /// Writes the whole dataset from `buffer`.
    public func write<T: HDF5Numeric>(from buffer: UnsafeBufferPointer<T>) throws(StorageError) {
        let (shape, elementType) = try shapeAndType()
        try requireType(T.elementType, found: elementType)
        let count = try checkedCount(shape, site)
        guard buffer.count == count else {
            throw .wrongShape(file: filePath, object: objectPath, expected: "\(count) elements (shape \(shape))", found: "\(buffer.count) values to write")
        }
        guard count > 0 else { return }
        if let rows = shape.first {
            try transferRows(0..<rows, T.elementType, UnsafeMutableRawPointer(mutating: buffer.baseAddress), count, writing: true)
            return
        }
        let status = H5Dwrite(rawID, T.elementType.hdf5Types!.memory, growkit_H5S_ALL(), growkit_H5S_ALL(), growkit_H5P_DEFAULT(), buffer.baseAddress)
        if status < 0 { throw site.error("write") }
    }

    // MARK: row ranges (hyperslabs along the first axis)

    /// Reads rows `rows` (first axis) of the dataset: `rows.count * rowElements` values.
    public func readRows<T: HDF5Numeric>(_ rows: Range<Int>, as type: T.Type = T.self) throws(StorageError) -> [T] {
        let (shape, _) = try shapeAndType()
        let rowElements = try checkedCount(Array(shape.dropFirst()), site)
        let (count, overflow) = rows.count.multipliedReportingOverflow(by: rowElements)
        if overflow { throw .tooLarge(file: filePath, object: objectPath, reason: "\(rows.count) rows of \(rowElements) elements") }
        try requireFitsInMemory(count, MemoryLayout<T>.stride)
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized throws(StorageError) in
            try readRows(rows, into: buffer)
            initialized = count
        }
    }

    /// Reads rows `rows` into `buffer` (`rows.count * rowElements` values).
    public func readRows<T: HDF5Numeric>(_ rows: Range<Int>, into buffer: UnsafeMutableBufferPointer<T>) throws(StorageError) {
        try transferRows(rows, T.elementType, UnsafeMutableRawPointer(buffer.baseAddress), buffer.count, writing: false)
    }

    /// Writes `values` into rows starting at `startRow` (`values.count` must be a whole number of rows).
    public func writeRows<T: HDF5Numeric>(startingAt startRow: Int, _ values: [T]) throws(StorageError) {
        try values.withUnsafeBufferPointer { buffer throws(StorageError) in try writeRows(startingAt: startRow, from: buffer) }
    }

    /// Writes `buffer` into rows starting at `startRow`.
    public func writeRows<T: HDF5Numeric>(startingAt startRow: Int, from buffer: UnsafeBufferPointer<T>) throws(StorageError) {
        let (shape, _) = try shapeAndType()
        let rowElements = try checkedCount(Array(shape.dropFirst()), site)
        guard rowElements > 0, buffer.count % rowElements == 0 else {
            throw .wrongShape(file: filePath, object: objectPath, expected: "whole rows of \(rowElements) elements", found: "\(buffer.count) values")
        }
        let rows = startRow..<(startRow + buffer.count / rowElements)
        try transferRows(rows, T.elementType, UnsafeMutableRawPointer(mutating: buffer.baseAddress), buffer.count, writing: true)
    }

    private func transferRows(
        _ rows: Range<Int>, _ type: ElementType, _ pointer: UnsafeMutableRawPointer?, _ bufferCount: Int, writing: Bool
    ) throws(StorageError) {
        let info = try info()
        let shape = info.shape
        try requireType(type, found: info.elementType)
        guard let first = shape.first else {
            throw .wrongShape(file: filePath, object: objectPath, expected: "at least one dimension for row access", found: "a scalar")
        }
        guard rows.lowerBound >= 0, rows.upperBound <= first else {
            throw .wrongShape(file: filePath, object: objectPath, expected: "rows within 0..<\(first)", found: "rows \(rows.lowerBound)..<\(rows.upperBound)")
        }
        let rowElements = try checkedCount(Array(shape.dropFirst()), site)
        let (count, overflow) = rows.count.multipliedReportingOverflow(by: rowElements)
        guard !overflow, count == bufferCount else {
            throw .wrongShape(file: filePath, object: objectPath, expected: "a buffer of \(rows.count) rows x \(rowElements) elements", found: "\(bufferCount) elements")
        }
        guard count > 0, let pointer else { return }
        let memoryType = type.hdf5Types!.memory
        if let layout = try directLayout() {
            if writing {
                try directWriteRows(rows, layout, memoryType, from: pointer)
            } else {
                try directReadRows(rows, layout, memoryType, into: pointer)
            }
        } else {
            try hyperslabTransfer(rows, memoryType, pointer, writing: writing)
        }
    }

    // MARK: strings

    /// Writes a 1-D string dataset as variable-length UTF-8.
    public func writeStrings(_ values: [String]) throws(StorageError) {
        let (shape, elementType) = try shapeAndType()
        guard elementType.typeClass == .string, elementType.isVariableLength else {
            throw .wrongType(file: filePath, object: objectPath, expected: "variable-length strings", found: elementType.description)
        }
        let count = try checkedCount(shape, site)
        guard values.count == count else {
            throw .wrongShape(file: filePath, object: objectPath, expected: "\(count) strings", found: "\(values.count) strings to write")
        }
        guard count > 0 else { return }
        let memoryType = try makeVariableStringType(site)
        defer { H5Tclose(memoryType) }
        var pointers: [UnsafeMutablePointer<CChar>?] = values.map { strdup($0) }
        defer { for p in pointers { free(p) } }
        let status = H5Dwrite(try openID(), memoryType, growkit_H5S_ALL(), growkit_H5S_ALL(), growkit_H5P_DEFAULT(), &pointers)
        if status < 0 { throw site.error("write") }
    }

    /// Reads a string dataset (variable- or fixed-length) in row-major order.
    /// `maxTotalBytes` bounds the bytes of all strings together, checked before
    /// they are read (a small file can declare a huge string dataset).
    public func readStrings(maxTotalBytes: Int = Int.max) throws(StorageError) -> [String] {
        let (shape, elementType) = try shapeAndType()
        guard elementType.typeClass == .string else {
            throw .wrongType(file: filePath, object: objectPath, expected: "strings", found: elementType.description)
        }
        let count = try checkedCount(shape, site)
        guard count > 0 else { return [] }
        let id = try openID()
        let fileType = try site.check(H5Dget_type(id), "read the type of")
        defer { H5Tclose(fileType) }
        // Reading with the stored type itself: no character-set conversion.
        let memoryType = try site.check(H5Tcopy(fileType), "read")
        defer { H5Tclose(memoryType) }
        if elementType.isVariableLength {
            try requireFitsInMemory(count, MemoryLayout<UnsafeMutablePointer<CChar>?>.stride)
            let space = try site.check(H5Dget_space(id), "read the shape of")
            defer { H5Sclose(space) }
            var total: hsize_t = 0
            try site.check(H5Dvlen_get_buf_size(id, memoryType, space, &total), "measure the strings of")
            if total > hsize_t(maxTotalBytes) {
                throw .tooLarge(file: filePath, object: objectPath, reason: "its strings hold \(total) bytes, above the bound of \(maxTotalBytes)")
            }
            try requireFitsInMemory(Int(clamping: total), 2)
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            let status = H5Dread(id, memoryType, growkit_H5S_ALL(), growkit_H5S_ALL(), growkit_H5P_DEFAULT(), &pointers)
            if status < 0 { throw site.error("read") }
            let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
            _ = H5Dvlen_reclaim(memoryType, space, growkit_H5P_DEFAULT(), &pointers)
            return strings
        }
        let size = H5Tget_size(fileType)
        let (bytes, overflow) = size.multipliedReportingOverflow(by: count)
        if overflow || bytes > maxTotalBytes {
            throw .tooLarge(file: filePath, object: objectPath, reason: "\(count) strings of \(size) bytes, above the bound of \(maxTotalBytes) bytes")
        }
        try requireFitsInMemory(bytes, 2)
        var raw = [UInt8](repeating: 0, count: bytes)
        let status = H5Dread(id, memoryType, growkit_H5S_ALL(), growkit_H5S_ALL(), growkit_H5P_DEFAULT(), &raw)
        if status < 0 { throw site.error("read") }
        let padding = H5Tget_strpad(fileType)
        return (0..<count).map { decodeFixedString(raw[($0 * size)..<(($0 + 1) * size)], padding: padding) }
    }

    /// Refuses to allocate more than this process can still get (``SystemMemory``)
    /// for a read (a damaged or hostile file can claim any shape): read such a
    /// tensor in row ranges instead.
    func requireFitsInMemory(_ count: Int, _ elementSize: Int) throws(StorageError) {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
        let available = SystemMemory.availableBytes()
        if overflow || bytes > available {
            throw .tooLarge(file: filePath, object: objectPath,
                            reason: "reading it needs \(overflow ? "more than 9 EB" : SystemMemory.describe(bytes)) of memory and \(SystemMemory.describe(available)) are available; read it in row ranges or on a larger machine")
        }
    }

    /// Reads a float32 dataset, or a uint16 dataset with attribute
    /// `dtype = "bfloat16"` widened to float32 (format v1's two tensor types).
    public func readFloat32OrBFloat16() throws(StorageError) -> [Float] {
        let (_, elementType) = try shapeAndType()
        if elementType.matches(.uint16), try hasAttribute("dtype"), try stringAttribute("dtype") == "bfloat16" {
            return BFloat16.floats(fromBits: try read(UInt16.self))
        }
        return try read(Float.self)
    }

    func requireType(_ expected: ElementType, found: ElementType) throws(StorageError) {
        guard expected.matches(found) else {
            throw .wrongType(file: filePath, object: objectPath, expected: expected.description, found: found.description)
        }
    }
}

/// Decodes one fixed-length HDF5 string: up to the first NUL for null-terminated
/// or null-padded strings, trailing spaces removed for space-padded ones.
func decodeFixedString(_ bytes: ArraySlice<UInt8>, padding: H5T_str_t) -> String {
    var content = bytes
    if let nul = content.firstIndex(of: 0) { content = content[content.startIndex..<nul] }
    if padding == H5T_STR_SPACEPAD {
        while content.last == 0x20 { content = content.dropLast() }
    }
    return String(decoding: content, as: UTF8.self)
}
