import CHDF5

/// Reading a sequence of datasets with the HDF5 work of the next one done while
/// other threads read the chunks of this one.
///
/// A checked read of an uncompressed dataset spends most of its time in `preadv`
/// and the fletcher32 pass (on the workers, no HDF5 call), and the rest in HDF5 on
/// the calling thread: opening the dataset, reading its metadata and chunk
/// addresses, closing it. Over the 588 tensors of GPT-2 124M with both moments
/// that HDF5 share is about 0.04 s per warm read (0.03 s in `H5Dopen2` alone,
/// `growkit-bench storage --read-profile`), a quarter of what a plain `read()` of
/// the same bytes takes. HDF5 is not thread-safe, so it stays on one thread; what
/// moves is the copy: `read(into:overlapping:)` starts the workers on this
/// dataset's chunk runs, runs the caller's work (open and `prepareRead()` the next
/// dataset) meanwhile, then joins the workers.
extension HDF5Dataset {
    /// Does the HDF5 part of a later whole-dataset read now: metadata, layout and
    /// (for uncompressed row-chunked datasets of a file open for reading) the
    /// address of every chunk.
    public func prepareRead() throws(StorageError) {
        _ = try wholeReadPlan()
    }

    /// Reads the whole dataset into `buffer` (as ``read(into:)``, every chunk's
    /// fletcher32 verified) and runs `work` on this thread while other threads read
    /// the chunks. Datasets that are not read through chunk runs (compressed,
    /// contiguous, scalar) are read first and `work` runs after.
    public func read<T: HDF5Numeric>(
        into buffer: UnsafeMutableBufferPointer<T>, overlapping work: () throws(StorageError) -> Void
    ) throws(StorageError) {
        let count = try wholeReadShape(into: buffer).count
        guard count > 0, let destination = buffer.baseAddress, let plan = try wholeReadPlan(),
            let layout = try directLayout(), let descriptor = owningFile?.readDescriptor
        else {
            try read(into: buffer)
            try work()
            return
        }
        var failure: StorageError? = nil
        withoutActuallyEscaping(work) { work in
            do throws(StorageError) {
                try executeChunkRuns(plan, layout, descriptor: descriptor, into: UnsafeMutableRawPointer(destination), overlapping: work)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// ``read(_:)`` with `work` run meanwhile, as ``read(into:overlapping:)``.
    public func read<T: HDF5Numeric>(
        _ type: T.Type = T.self, overlapping work: () throws(StorageError) -> Void
    ) throws(StorageError) -> [T] {
        try wholeArray { buffer throws(StorageError) in try read(into: buffer, overlapping: work) }
    }

    /// The runs that read every chunk of the dataset, when it is read through
    /// chunk runs (see `planChunkRuns`); nil otherwise.
    func wholeReadPlan() throws(StorageError) -> ChunkRunPlan? {
        if let cachedWholeReadPlan { return cachedWholeReadPlan }
        var plan: ChunkRunPlan? = nil
        if owningFile?.readDescriptor != nil, let layout = try directLayout(), layout.zstdIndex == nil {
            let chunks = (layout.rows + layout.chunkRows - 1) / layout.chunkRows
            let whole = try planChunkRuns(from: 0, to: chunks - 1, 0..<layout.rows, layout, spread: true)
            if whole.chunks == chunks { plan = whole }
        }
        cachedWholeReadPlan = .some(plan)
        return plan
    }
}
