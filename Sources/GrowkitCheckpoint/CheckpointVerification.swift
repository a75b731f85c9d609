import GrowkitState
import GrowkitStorage

/// What ``CheckpointReader/verifyAllChunks(progress:)`` checked.
public struct VerificationReport: Sendable, Equatable {
    /// Tensors every chunk of which passed its fletcher32 checksum.
    public var checksummed: Int
    /// Paths of tensors stored without fletcher32: read in full, but not checked.
    public var unchecked: [String]
    /// Tensors that store no chunk at all (never written: they read as zeros).
    public var neverWritten: Int = 0
}

/// Progress of a long read over every tensor (`verifyAllChunks`, statistics).
public struct TensorProgress: Sendable {
    /// 0-based index of the tensor just finished, and the number of tensors.
    public var index: Int
    public var count: Int
    /// Its HDF5 path.
    public var path: String
    /// Bytes (before compression) read so far and in all.
    public var bytesDone: Int
    public var bytesTotal: Int

    /// For a pass over tensors of the caller's own (`grow` writing its output).
    public init(index: Int, count: Int, path: String, bytesDone: Int, bytesTotal: Int) {
        self.index = index
        self.count = count
        self.path = path
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
    }
}

extension CheckpointReader {
    /// Reads every dataset of the file in full so that HDF5's fletcher32 filter
    /// checks every chunk: all tensors (in ``tensors`` order), then the RNG state,
    /// the history and the provenance. Throws ``StateError/corrupted(file:object:)``
    /// naming the first dataset whose chunk fails its checksum. Memory: one tensor
    /// slab of at most about 16 MiB at a time.
    /// Returns what was checked: tensors without fletcher32 are read in full (so
    /// a damaged compressed chunk still fails) but have no checksum to compare.
    @discardableResult
    public func verifyAllChunks(progress: (TensorProgress) -> Void = { _ in }) throws(StateError) -> VerificationReport {
        let total = tensors.reduce(0) { $0 + $1.rawBytes }
        var done = 0
        for (index, info) in tensors.enumerated() {
            // A never-written tensor (all-zero moments of the reference fixtures, or a
            // sparse file declaring a huge model) stores no chunk, so there is no
            // checksum to check; reading terabytes of fill values would check nothing.
            if info.storedBytes > 0 { try readInSlabs(info) { _ in } }
            done += info.rawBytes
            progress(TensorProgress(index: index, count: tensors.count, path: info.path, bytesDone: done, bytesTotal: total))
        }
        // The small datasets were read (and so checksummed, when they have fletcher32)
        // by init; read them again so a verify run covers them explicitly.
        let access = self.access
        _ = try access.trainer()
        _ = try access.history()
        _ = try access.provenance()
        let stored = tensors.filter { $0.storedBytes > 0 }
        return VerificationReport(checksummed: stored.filter(\.fletcher32).count,
                                  unchecked: stored.filter { !$0.fletcher32 }.map(\.path),
                                  neverWritten: tensors.count - stored.count)
    }

    /// Statistics of every tensor, one at a time, in ``tensors`` order.
    /// Refuses up front, with the size it needs, when the largest tensor cannot be
    /// held as float32 (rather than after hours of reading the smaller ones).
    public func tensorStatistics(progress: (TensorProgress) -> Void = { _ in }) throws(StateError) -> [(StoredTensorInfo, TensorStatistics)] {
        let largest = tensors.map(\.elementCount).max() ?? 0
        try requireMemory(4 * largest, for: "computing statistics (the largest tensor as float32)")
        let total = tensors.reduce(0) { $0 + $1.rawBytes }
        var done = 0
        var results: [(StoredTensorInfo, TensorStatistics)] = []
        for (index, info) in tensors.enumerated() {
            results.append((info, TensorStatistics(try tensor(at: info).data)))
            done += info.rawBytes
            progress(TensorProgress(index: index, count: tensors.count, path: info.path, bytesDone: done, bytesTotal: total))
        }
        return results
    }

    /// Reads a tensor in slabs of whole rows (about 16 MiB each), handing each slab's
    /// element count to `body`; the data is read as stored (no conversion).
    func readInSlabs(_ info: StoredTensorInfo, _ body: (Int) -> Void) throws(StateError) {
        let access = self.access
        let dataset = try access.requireDataset(info.path)
        let rows = info.shape.first ?? 1
        let rowElements = max(1, info.elementCount / max(rows, 1))
        let rowsPerSlab = max(1, (16 << 20) / (rowElements * info.elementType.byteWidth))
        var start = 0
        while start < rows {
            let range = start..<min(rows, start + rowsPerSlab)
            switch info.elementType {
            case .float32:
                let slab = try access.storage { () throws(StorageError) in try dataset.readRows(range, as: Float.self) }
                body(slab.count)
            case .bfloat16:
                let slab = try access.storage { () throws(StorageError) in try dataset.readRows(range, as: UInt16.self) }
                body(slab.count)
            }
            start = range.upperBound
        }
    }
}
