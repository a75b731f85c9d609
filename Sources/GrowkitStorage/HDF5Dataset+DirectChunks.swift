import CHDF5
import CZstd
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Direct chunk I/O for the format's layout: chunks of whole rows along the
/// first axis, pipeline `[zstd?] [fletcher32?]`, little-endian elements.
///
/// HDF5 1.10 moves every chunk through its chunk cache and filter buffers (two
/// extra copies) and checks fletcher32 one word at a time, which caps warm reads
/// near 1.5 GB/s. Here, on read:
/// - uncompressed chunks are read with `preadv` on the file's descriptor, in
///   runs of about 1 MiB of chunks stored back to back (what a sequential writer
///   produces): the wanted rows land straight in the caller's buffer, the rows
///   a chunk holds but the request does not want (and the edge chunk's padding,
///   stored full size) in a scratch buffer, and each chunk's 4 checksum bytes in
///   a side array; then the SIMD `Fletcher32` sums each piece while its bytes are
///   still in cache, and every chunk is checked whole. Chunks larger than a run,
///   and requests of 8 MiB or more spread over the cores, are cut into slices
///   whose sums are joined (`HDF5Dataset+ChunkRuns.swift`);
/// - zstd chunks, chunks whose wanted rows start or end at an odd byte, and
///   chunks HDF5 reports with another stored size or filter mask are read with
///   `H5Dread_chunk` (into the caller's buffer when it fits, its checksum
///   spilling into the next chunk's rows, which the next read overwrites), and
///   zstd frames are decompressed straight into the caller's buffer.
/// On write, the stored bytes of each whole chunk (zstd frame, then checksum) are
/// built here and handed to `H5Dwrite_chunk`. The file is byte-for-byte what
/// HDF5's own pipeline writes: HDF5 and h5py read it, and files from them are
/// read here (tests compare both ways). Chunks only partly covered by a write,
/// unallocated chunks, and any other layout go through `H5Dread`/`H5Dwrite`.
struct RowChunkLayout {
    var rank: Int
    var rows: Int
    var rowBytes: Int
    var chunkRows: Int
    /// Pipeline index of zstd (bit in the chunk filter mask), if present.
    var zstdIndex: Int?
    var zstdLevel: Int32
    /// Pipeline index of fletcher32, if present.
    var fletcherIndex: Int?

    var chunkBytes: Int { chunkRows * rowBytes }
    /// Largest stored size a valid chunk can have.
    var maxStoredBytes: Int {
        (zstdIndex != nil ? ZSTD_compressBound(chunkBytes) : chunkBytes) + (fletcherIndex != nil ? 4 : 0)
    }
}

/// What a zstd frame header says about its size, in words: libzstd's sentinels
/// `ZSTD_CONTENTSIZE_UNKNOWN` (2^64 - 1) and `ZSTD_CONTENTSIZE_ERROR` (2^64 - 2)
/// are not byte counts.
func zstdAnnouncement(_ size: UInt64) -> String {
    switch size {
    case UInt64.max: return "does not announce its decompressed size"
    case UInt64.max - 1: return "has no valid zstd frame header"
    default: return "announces \(size) bytes"
    }
}

extension HDF5Dataset {
    /// The direct-I/O layout when the dataset qualifies, nil otherwise.
    func rowChunkLayout(_ info: DatasetInfo, stored elementType: ElementType) throws(StorageError) -> RowChunkLayout? {
        guard let chunk = info.chunkShape, let rows = info.shape.first, rows > 0, chunk.count == info.shape.count,
            Array(chunk.dropFirst()) == Array(info.shape.dropFirst()), elementType.hdf5Types != nil
        else { return nil }
        // Stored little-endian (the hosts Swift runs on are little-endian).
        let id = try openID()
        let type = H5Dget_type(id)
        guard type >= 0 else { throw site.error("read the type of") }
        defer { H5Tclose(type) }
        guard elementType.size == 1 || H5Tget_order(type) == H5T_ORDER_LE else { return nil }
        var zstdIndex: Int? = nil, fletcherIndex: Int? = nil
        for (index, filter) in info.filters.enumerated() {
            switch filter.id {
            case ZstdFilter.id where index == 0 && zstdIndex == nil: zstdIndex = index
            case H5Z_FILTER_FLETCHER32 where index == info.filters.count - 1: fletcherIndex = index
            default: return nil
            }
        }
        let rowElements = info.elementCount / rows
        let (rowBytes, overflow) = rowElements.multipliedReportingOverflow(by: elementType.size)
        guard !overflow, rowBytes > 0, chunk[0] > 0, chunk[0].multipliedReportingOverflow(by: rowBytes).overflow == false,
            chunk[0] * rowBytes <= 1 << 31
        else { return nil }
        return RowChunkLayout(
            rank: info.shape.count, rows: rows, rowBytes: rowBytes, chunkRows: chunk[0],
            zstdIndex: zstdIndex, zstdLevel: info.zstdLevel ?? ZstdFilter.defaultLevel, fletcherIndex: fletcherIndex)
    }

    /// Reads rows `rows` into `destination` (exactly `rows.count * rowBytes` bytes).
    func directReadRows(_ rows: Range<Int>, _ layout: RowChunkLayout, _ memoryType: hid_t, into destination: UnsafeMutableRawPointer) throws(StorageError) {
        guard !rows.isEmpty else { return }
        let id = try openID()
        var scratch: UnsafeMutableRawPointer? = nil
        var plain: UnsafeMutableRawPointer? = nil
        defer { scratch.map { free($0) }; plain.map { free($0) } }
        func buffer(_ p: inout UnsafeMutableRawPointer?, _ size: Int) throws(StorageError) -> UnsafeMutableRawPointer {
            if let p { return p }
            guard let fresh = malloc(max(size, 1)) else {
                throw .tooLarge(file: filePath, object: objectPath, reason: "cannot allocate a chunk buffer of \(size) bytes")
            }
            p = fresh
            return fresh
        }
        let requestBytes = rows.count * layout.rowBytes
        var offset = [hsize_t](repeating: 0, count: layout.rank)
        let firstChunk = rows.lowerBound / layout.chunkRows
        let lastChunk = (rows.upperBound - 1) / layout.chunkRows
        let descriptor = owningFile?.readDescriptor
        var chunk = firstChunk
        while chunk <= lastChunk {
            // Uncompressed chunks wholly inside the request, stored back to back:
            // one preadv() straight into the caller's buffer, checksums aside.
            if let descriptor, layout.zstdIndex == nil {
                let plan = try planChunkRuns(from: chunk, to: lastChunk, rows, layout)
                if plan.chunks > 0 {
                    try executeChunkRuns(plan, layout, descriptor: descriptor, into: destination)
                    chunk += plan.chunks
                    continue
                }
            }
            defer { chunk += 1 }
            let chunkStart = chunk * layout.chunkRows
            let chunkEnd = min(chunkStart + layout.chunkRows, layout.rows)
            let first = max(rows.lowerBound, chunkStart), last = min(rows.upperBound, chunkEnd)
            let target = destination + (first - rows.lowerBound) * layout.rowBytes
            let within = (first - chunkStart) * layout.rowBytes
            let wanted = (last - first) * layout.rowBytes
            offset[0] = hsize_t(chunkStart)
            var storedSize: hsize_t = 0
            if H5Dget_chunk_storage_size(id, &offset, &storedSize) < 0 || storedSize == 0 {
                _ = H5Eclear2(growkit_H5E_DEFAULT())
                try hyperslabTransfer(first..<last, memoryType, target, writing: false)  // unallocated: fill values
                continue
            }
            guard storedSize <= hsize_t(layout.maxStoredBytes) else {
                throw .damaged(file: filePath, object: objectPath, reason: "the chunk at row \(chunkStart) claims \(storedSize) bytes, more than a chunk can hold")
            }
            let stored = Int(storedSize)
            // Stored bytes straight into the caller's buffer when the whole chunk is
            // wanted and its checksum spill stays inside the request.
            let whole = first == chunkStart && chunkStart + layout.chunkRows <= rows.upperBound
            let direct = whole && layout.zstdIndex == nil && stored <= requestBytes - (first - rows.lowerBound) * layout.rowBytes
            let raw = direct ? target : try buffer(&scratch, layout.maxStoredBytes)
            var mask: UInt32 = 0
            if H5Dread_chunk(id, growkit_H5P_DEFAULT(), &offset, &mask, raw) < 0 {
                throw site.error("read the chunk at row \(chunkStart) of")
            }
            var payload = stored
            if let f = layout.fletcherIndex, mask & (1 << UInt32(f)) == 0 {
                guard payload >= 4 else { throw .damaged(file: filePath, object: objectPath, reason: "a chunk shorter than its checksum") }
                payload -= 4
                let checksum = UInt32(littleEndian: (raw + payload).loadUnaligned(as: UInt32.self))
                guard Fletcher32.verify(raw, payload, stored: checksum) else {
                    throw .checksumMismatch(file: filePath, dataset: objectPath)
                }
            }
            if let z = layout.zstdIndex, mask & (1 << UInt32(z)) == 0 {
                let size = ZSTD_getFrameContentSize(raw, payload)
                guard size == UInt64(layout.chunkBytes) else {
                    throw .damaged(file: filePath, object: objectPath,
                                   reason: "the zstd chunk at row \(chunkStart) \(zstdAnnouncement(size)) instead of \(layout.chunkBytes) bytes")
                }
                let out = whole ? target : try buffer(&plain, layout.chunkBytes)
                let written = ZSTD_decompress(out, layout.chunkBytes, raw, payload)
                guard ZSTD_isError(written) == 0, written == layout.chunkBytes else {
                    throw .damaged(file: filePath, object: objectPath, reason: "the zstd chunk at row \(chunkStart) does not decompress")
                }
                if !whole { memcpy(target, out + within, wanted) }
            } else {
                guard payload == layout.chunkBytes else {
                    throw .damaged(file: filePath, object: objectPath, reason: "the chunk at row \(chunkStart) holds \(payload) bytes instead of \(layout.chunkBytes)")
                }
                if !direct { memcpy(target, raw + within, wanted) }
            }
        }
    }

    /// Writes rows `rows` from `source` (exactly `rows.count * rowBytes` bytes).
    func directWriteRows(_ rows: Range<Int>, _ layout: RowChunkLayout, _ memoryType: hid_t, from source: UnsafeRawPointer) throws(StorageError) {
        guard !rows.isEmpty else { return }
        let id = try openID()
        let storedCapacity = layout.maxStoredBytes
        var scratch: UnsafeMutableRawPointer? = nil
        var padded: UnsafeMutableRawPointer? = nil
        defer { scratch.map { free($0) }; padded.map { free($0) } }
        var offset = [hsize_t](repeating: 0, count: layout.rank)
        for chunk in (rows.lowerBound / layout.chunkRows)...((rows.upperBound - 1) / layout.chunkRows) {
            let chunkStart = chunk * layout.chunkRows
            let chunkEnd = min(chunkStart + layout.chunkRows, layout.rows)
            let first = max(rows.lowerBound, chunkStart), last = min(rows.upperBound, chunkEnd)
            let from = source + (first - rows.lowerBound) * layout.rowBytes
            guard first == chunkStart && last == chunkEnd else {
                try hyperslabTransfer(first..<last, memoryType, UnsafeMutableRawPointer(mutating: from), writing: true)
                continue
            }
            if scratch == nil {
                scratch = malloc(storedCapacity)
                guard scratch != nil else { throw .tooLarge(file: filePath, object: objectPath, reason: "cannot allocate a chunk buffer of \(storedCapacity) bytes") }
            }
            let out = scratch!
            let validBytes = (chunkEnd - chunkStart) * layout.rowBytes
            // The edge chunk is stored full size, zero-padded past the last row (as HDF5 does).
            var input = from
            if validBytes < layout.chunkBytes {
                if padded == nil { padded = calloc(1, layout.chunkBytes) }
                guard let padded else { throw .tooLarge(file: filePath, object: objectPath, reason: "cannot allocate a chunk buffer") }
                memcpy(padded, from, validBytes)
                memset(padded + validBytes, 0, layout.chunkBytes - validBytes)
                input = UnsafeRawPointer(padded)
            }
            var size: Int
            if layout.zstdIndex != nil {
                size = ZSTD_compress(out, storedCapacity, input, layout.chunkBytes, layout.zstdLevel)
                guard ZSTD_isError(size) == 0 else {
                    throw .hdf5Failure(file: filePath, object: objectPath, operation: "compress the chunk at row \(chunkStart) of", reason: "zstd failed")
                }
                if layout.fletcherIndex != nil {
                    (out + size).storeBytes(of: Fletcher32.checksum(out, size).littleEndian, as: UInt32.self)
                    size += 4
                }
            } else if layout.fletcherIndex != nil {
                // Copy and checksum in one pass over the source.
                let checksum = Fletcher32.checksum(input, layout.chunkBytes, copyingTo: out)
                (out + layout.chunkBytes).storeBytes(of: checksum.littleEndian, as: UInt32.self)
                size = layout.chunkBytes + 4
            } else {
                memcpy(out, input, layout.chunkBytes)
                size = layout.chunkBytes
            }
            offset[0] = hsize_t(chunkStart)
            if H5Dwrite_chunk(id, growkit_H5P_DEFAULT(), 0, &offset, size, out) < 0 {
                throw site.error("write the chunk at row \(chunkStart) of")
            }
        }
    }

    /// Rows through HDF5's own pipeline (hyperslab along the first axis).
    func hyperslabTransfer(_ rows: Range<Int>, _ memoryType: hid_t, _ pointer: UnsafeMutableRawPointer, writing: Bool) throws(StorageError) {
        let id = try openID()
        let fileSpace = try site.check(H5Dget_space(id), "select rows of")
        defer { H5Sclose(fileSpace) }
        let rank = Int(H5Sget_simple_extent_ndims(fileSpace))
        var dims = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(fileSpace, &dims, nil)
        var start = [hsize_t](repeating: 0, count: rank)
        start[0] = hsize_t(rows.lowerBound)
        var extent = dims
        extent[0] = hsize_t(rows.count)
        try site.check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, extent, nil), "select rows of")
        var memoryDims = [extent.reduce(1, *)]
        let memorySpace = try site.check(H5Screate_simple(1, &memoryDims, nil), "select rows of")
        defer { H5Sclose(memorySpace) }
        let status = writing
            ? H5Dwrite(id, memoryType, memorySpace, fileSpace, growkit_H5P_DEFAULT(), pointer)
            : H5Dread(id, memoryType, memorySpace, fileSpace, growkit_H5P_DEFAULT(), pointer)
        if status < 0 { throw site.error(writing ? "write rows \(rows) of" : "read rows \(rows) of") }
    }
}
