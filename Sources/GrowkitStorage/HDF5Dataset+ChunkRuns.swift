import CHDF5
import GrowkitParallel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A byte range of one uncompressed chunk's stored bytes and where it lands:
/// in the caller's buffer, or (the rows of a chunk the request does not want,
/// e.g. the padding of the edge chunk, stored full size) in a scratch buffer.
/// Its fletcher32 sums are computed right after it is read, while its bytes are
/// in cache; a chunk's pieces' sums are joined (`Fletcher32.Sums.followed(by:)`)
/// and checked once every piece is in.
struct ChunkPiece {
    /// Offset in the caller's buffer, or in the scratch buffer when `toScratch`.
    var offset: Int
    var bytes: Int
    var toScratch: Bool
    /// Index of its chunk in the plan (0 ..< `ChunkRunPlan.chunks`).
    var chunk: Int
    /// Whether the chunk's 4 checksum bytes follow this piece in the file.
    var endsChunk: Bool
}

/// Pieces stored back to back in the file: read with one `preadv`.
struct ChunkRun {
    var fileOffset: UInt64
    var pieces: Range<Int>
    var bytes: Int
}

/// The runs that read chunks `start ..< start + chunks` of a request.
struct ChunkRunPlan {
    var pieces: [ChunkPiece] = []
    var runs: [ChunkRun] = []
    /// Chunks covered.
    var chunks = 0
    var scratchBytes = 0
    /// Bytes read from the file.
    var totalBytes = 0
}

/// How runs are cut and spread over threads, measured with `growkit-bench storage`
/// on a 2-core EPYC (page-cache reads of GPT-2 124M; see StorageBenchmark.swift).
enum ChunkRunTuning {
    /// Bytes per run at most (at least one piece). Small enough that a run's
    /// bytes are still in the core's L2 (1 MiB per core on the machine measured)
    /// when the checksum pass reads them right after `preadv` wrote them.
    /// Measured warm on GPT-2 124M (best of 3, 2 runs each, machine shared,
    /// parallel from 1 MiB): 1 MiB runs 0.63-0.76 of plain read(), 2 MiB
    /// 0.53-0.66, 4 MiB 0.53-0.58. Smaller runs do not win it back (one thread,
    /// 15 warm reads each, the other core busy with other work; median CPU s
    /// per read of the 1.49 GB): 1 MiB 0.217, 512 KiB 0.245, 256 KiB 0.229,
    /// 128 KiB 0.233; plain read() 0.12-0.13.
    static let runBytes = 1 << 20
    /// Requests with fewer bytes than this are read on the calling thread: each
    /// parallel job costs wake-ups that a small tensor does not win back.
    /// Earlier (chunk-sized runs, no slices; warm GPT-2 124M, best of 3, two runs
    /// each, machine shared): 8 MiB 0.68-0.74 of plain read() at 0.084-0.097 CPU
    /// s; 1 MiB 0.64-0.65 at 0.099-0.108 CPU s; 3 MiB 0.55-0.73. With slices (the
    /// 2.36 MB attention matrices then split evenly over 2 workers), 18 warm
    /// reads each while another job held one of the 2 cores: 8 MiB median 0.56
    /// of plain (CPU 0.217 s), 2 MiB 0.54 (0.208 s), 1 MiB 0.56 (0.206 s); no
    /// difference measurable with one free core, so the threshold stays. On our
    /// own `WorkerPool` (quiet machine, 12 warm reads per run, median per-read
    /// ratio to plain read()): 1 MiB 0.67 and 0.79, 8 MiB 0.66 and 0.80, runs
    /// alternated: the machine's state moves the figure, the threshold does not.
    static let parallelMinimumBytes = 8 << 20
    /// The same for a read that overlaps other work (the next dataset's HDF5
    /// work, some 50 us): below this the copy is shorter than a wake-up, so
    /// the calling thread does the work, then the read. (Every read of the 588
    /// tensors of GPT-2 124M through the workers cost 0.03 CPU s more per warm
    /// read of the 1.49 GB than reading the ~370 tensors under 256 KiB here.)
    static let overlapMinimumBytes = 256 << 10
    /// Pieces are cut at multiples of this many bytes within a chunk (even, so
    /// that the fletcher32 sums of the pieces join; 32-byte SIMD groups).
    static let pieceAlignment = 64
    /// Default threads that read and verify runs side by side (the online cores,
    /// at most 4); per file: `HDF5File.readThreads`.
    static let workers: Int = {
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return online > 0 ? min(4, online) : 1
    }()
    /// The threads (``workers`` of them, the caller included) that share a read's runs; started on
    /// first use. A read asking for more threads gets ``workers``.
    static let pool = WorkerPool(width: workers)
}

/// Shares the plan's raw pointers with the workers: each run writes disjoint
/// bytes of the caller's and the scratch buffer, its own pieces' slots of `sums`,
/// its own chunks' slots of `stored`, and its own slot of `failures`.
private struct SharedRuns: @unchecked Sendable {
    var runs: UnsafeBufferPointer<ChunkRun>
    var pieces: UnsafeBufferPointer<ChunkPiece>
    var sums: UnsafeMutableBufferPointer<Fletcher32.Sums>
    var stored: UnsafeMutableBufferPointer<UInt32>
    var failures: UnsafeMutableBufferPointer<StorageError?>
    var destination: UnsafeMutableRawPointer
    var scratch: UnsafeMutableRawPointer?
    /// The next run to read, claimed by whichever thread is free.
    var queue: RunQueue
}

/// Hands out run indices `0 ..< count` one at a time to the threads of one read,
/// so that a thread that starts late (the caller, busy with other work first) or
/// reads slowly simply takes fewer runs. Claimed in file order: the threads
/// stream through the file side by side.
final class RunQueue: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var next = 0
    private var count: Int

    init(count: Int) {
        self.count = count
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// The next unclaimed run, or nil when all are claimed (or after `stop`).
    func claim() -> Int? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }

    /// No more claims (a run failed: the read will throw).
    func stop() {
        pthread_mutex_lock(mutex)
        count = min(count, next)
        pthread_mutex_unlock(mutex)
    }
}

extension HDF5Dataset {
    /// Plans the reading of chunks `start...lastChunk` of request `rows` (at most)
    /// with `preadv`, stopping at the first chunk that does not qualify (filtered,
    /// unallocated, another stored size, or wanted rows starting or ending at an
    /// odd byte; the caller then reads it through `H5Dread_chunk`). Returns an
    /// empty plan when chunk `start` does not qualify.
    ///
    /// Pieces are at most `runBytes`; when the request will be spread over
    /// threads, at most 1/(2 x threads) of it, chunks being cut into slices when
    /// needed, so that every worker gets about the same bytes (a GPT-2 124M
    /// attention weight is 3 chunks of 768 KiB: 6 slices, 3 per worker on 2).
    /// `spread` says the request will be read overlapping other work, spread
    /// from `overlapMinimumBytes` on; pieces then stay at least 64 KiB.
    func planChunkRuns(
        from start: Int, to lastChunk: Int, _ rows: Range<Int>, _ layout: RowChunkLayout, spread: Bool = false
    ) throws(StorageError) -> ChunkRunPlan {
        let id = try openID()
        let checksummed = layout.fletcherIndex != nil
        let storedSize = layout.chunkBytes + (checksummed ? 4 : 0)
        let threads = max(1, owningFile?.readThreads ?? ChunkRunTuning.workers)
        let remaining = (rows.upperBound - max(rows.lowerBound, start * layout.chunkRows)) * layout.rowBytes
        var pieceLimit = ChunkRunTuning.runBytes
        let spreadFrom = spread ? ChunkRunTuning.overlapMinimumBytes : ChunkRunTuning.parallelMinimumBytes
        if threads > 1 && remaining >= spreadFrom {
            let share = (remaining + 2 * threads - 1) / (2 * threads)
            pieceLimit = min(pieceLimit, max(spread ? 64 << 10 : ChunkRunTuning.pieceAlignment, share))
        }
        pieceLimit -= pieceLimit % ChunkRunTuning.pieceAlignment
        var plan = ChunkRunPlan()
        var at = [hsize_t](repeating: 0, count: layout.rank)
        var runEnd: UInt64 = 0  // file offset right after the current run
        func add(_ piece: ChunkPiece, at fileOffset: UInt64) {
            let index = plan.pieces.count
            plan.pieces.append(piece)
            let bytes = piece.bytes + (piece.endsChunk && checksummed ? 4 : 0)
            plan.totalBytes += bytes
            if let last = plan.runs.indices.last, fileOffset == runEnd, plan.runs[last].bytes + bytes <= pieceLimit,
                plan.runs[last].pieces.count < 256
            {
                plan.runs[last].pieces = plan.runs[last].pieces.lowerBound..<(index + 1)
                plan.runs[last].bytes += bytes
            } else {
                plan.runs.append(ChunkRun(fileOffset: fileOffset, pieces: index..<(index + 1), bytes: bytes))
            }
            runEnd = fileOffset + UInt64(bytes)
        }
        for chunk in start...lastChunk {
            let chunkStart = chunk * layout.chunkRows
            let chunkEnd = min(chunkStart + layout.chunkRows, layout.rows)
            let first = max(rows.lowerBound, chunkStart), last = min(rows.upperBound, chunkEnd)
            let wantedStart = (first - chunkStart) * layout.rowBytes
            let wantedEnd = (last - chunkStart) * layout.rowBytes
            // Slices join only at even offsets.
            guard wantedStart % 2 == 0, wantedEnd == layout.chunkBytes || wantedEnd % 2 == 0 else { break }
            at[0] = hsize_t(chunkStart)
            var mask: UInt32 = 0
            var address: haddr_t = 0
            var size: hsize_t = 0
            guard H5Dget_chunk_info_by_coord(id, &at, &mask, &address, &size) >= 0 else {
                _ = H5Eclear2(growkit_H5E_DEFAULT())
                break
            }
            // (Compared as file offsets: a damaged file may claim any size or address.)
            guard mask == 0, size == hsize_t(storedSize), address < haddr_t(Int64.max) - haddr_t(storedSize) else { break }
            let index = plan.chunks
            plan.chunks += 1
            let base = UInt64(address)
            let target = (first - rows.lowerBound) * layout.rowBytes
            // Unwanted leading rows (a request starting inside the chunk) to scratch.
            if wantedStart > 0 {
                add(ChunkPiece(offset: plan.scratchBytes, bytes: wantedStart, toScratch: true, chunk: index, endsChunk: false), at: base)
                plan.scratchBytes += wantedStart
            }
            var offset = wantedStart
            while offset < wantedEnd {
                let bytes = min(pieceLimit, wantedEnd - offset)
                let ends = offset + bytes == layout.chunkBytes
                add(ChunkPiece(offset: target + offset - wantedStart, bytes: bytes, toScratch: false, chunk: index, endsChunk: ends), at: base + UInt64(offset))
                offset += bytes
            }
            // Unwanted trailing rows, or the edge chunk's padding, to scratch.
            if wantedEnd < layout.chunkBytes {
                add(ChunkPiece(offset: plan.scratchBytes, bytes: layout.chunkBytes - wantedEnd, toScratch: true, chunk: index, endsChunk: true), at: base + UInt64(wantedEnd))
                plan.scratchBytes += layout.chunkBytes - wantedEnd
            }
        }
        return plan
    }

    /// Reads `plan` into `destination` and verifies every chunk's fletcher32: on
    /// `HDF5File.readThreads` threads when it reads at least
    /// `parallelMinimumBytes` (`overlapMinimumBytes` when there is `overlapping`
    /// work), else on this one. The threads claim runs in file order from a
    /// shared queue; the calling thread first runs `overlapping` (HDF5 work for
    /// the next read, say: HDF5 calls stay on this thread) and then joins them.
    /// Every chunk is verified before this returns; an error from `overlapping`
    /// comes first, then the first failing run, then the first failing chunk (in
    /// file order).
    func executeChunkRuns(
        _ plan: ChunkRunPlan, _ layout: RowChunkLayout, descriptor: Int32, into destination: UnsafeMutableRawPointer,
        overlapping: (() throws(StorageError) -> Void)? = nil
    ) throws(StorageError) {
        let workers = min(max(1, owningFile?.readThreads ?? ChunkRunTuning.workers), plan.runs.count, ChunkRunTuning.pool.width)
        let file = filePath, object = objectPath
        var scratch: UnsafeMutableRawPointer? = nil
        if plan.scratchBytes > 0 {
            scratch = malloc(plan.scratchBytes)
            guard scratch != nil else {
                throw .tooLarge(file: file, object: object, reason: "cannot allocate a chunk buffer of \(plan.scratchBytes) bytes")
            }
        }
        defer { free(scratch) }
        var sums = [Fletcher32.Sums](repeating: Fletcher32.Sums(), count: plan.pieces.count)
        var stored = [UInt32](repeating: 0, count: plan.chunks)
        var failures = [StorageError?](repeating: nil, count: plan.runs.count)
        let parallel = workers >= 2 && plan.totalBytes >= (overlapping == nil
            ? ChunkRunTuning.parallelMinimumBytes : ChunkRunTuning.overlapMinimumBytes)
        var overlappingFailure: StorageError? = nil
        plan.runs.withUnsafeBufferPointer { runs in
            plan.pieces.withUnsafeBufferPointer { pieces in
                sums.withUnsafeMutableBufferPointer { sums in
                    stored.withUnsafeMutableBufferPointer { stored in
                        failures.withUnsafeMutableBufferPointer { failures in
                            let shared = SharedRuns(
                                runs: runs, pieces: pieces, sums: sums, stored: stored, failures: failures,
                                destination: destination, scratch: scratch, queue: RunQueue(count: runs.count))
                            // Every part runs the same loop: claim the next run until none is left.
                            // One part (a serial read) runs on this thread, after `overlapping`.
                            let parts = parallel ? workers : 1
                            let arguments = (shared, layout, descriptor, file, object)
                            do throws(StorageError) {
                                try ChunkRunTuning.pool.run(parts: parts, count: parts, sharing: arguments, { arguments, _ in
                                    let (shared, layout, descriptor, file, object) = arguments
                                    while let index = shared.queue.claim() {
                                        shared.failures[index] = Self.readRun(index, shared, layout, descriptor: descriptor, file: file, object: object)
                                        if shared.failures[index] != nil { shared.queue.stop() }
                                    }
                                }, whileCallerRuns: { () throws(StorageError) in try overlapping?() })
                            } catch {
                                overlappingFailure = error
                            }
                        }
                    }
                }
            }
        }
        if let overlappingFailure { throw overlappingFailure }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
        guard layout.fletcherIndex != nil else { return }
        // Join each chunk's pieces (in file order) and check the chunk.
        var index = 0
        while index < plan.pieces.count {
            var chunkSums = sums[index]
            let chunk = plan.pieces[index].chunk
            index += 1
            while index < plan.pieces.count && plan.pieces[index].chunk == chunk {
                chunkSums = chunkSums.followed(by: sums[index])
                index += 1
            }
            guard chunkSums.matches(UInt32(littleEndian: stored[chunk])) else {
                throw .checksumMismatch(file: file, dataset: object)
            }
        }
    }

    /// One `preadv` for run `index` (repeated after a short read): pieces to their
    /// buffers, each chunk's 4 checksum bytes to `stored`; then each piece's SIMD
    /// fletcher32 sums, while its bytes are in cache. No HDF5 call: safe on any
    /// thread. Returns the error instead of throwing it (for workers).
    private static func readRun(
        _ index: Int, _ shared: SharedRuns, _ layout: RowChunkLayout, descriptor: Int32, file: String, object: String
    ) -> StorageError? {
        let run = shared.runs[index]
        let checksummed = layout.fletcherIndex != nil
        func pointer(_ piece: ChunkPiece) -> UnsafeMutableRawPointer {
            piece.toScratch ? shared.scratch! + piece.offset : shared.destination + piece.offset
        }
        return withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2 * run.pieces.count) { vectors -> StorageError? in
            var used = 0
            for p in run.pieces {
                let piece = shared.pieces[p]
                vectors[used] = iovec(iov_base: pointer(piece), iov_len: piece.bytes)
                used += 1
                if checksummed && piece.endsChunk {
                    vectors[used] = iovec(iov_base: UnsafeMutableRawPointer(shared.stored.baseAddress! + piece.chunk), iov_len: 4)
                    used += 1
                }
            }
            var done = 0, first = 0
            while done < run.bytes {
                let n = preadv(descriptor, vectors.baseAddress! + first, Int32(used - first), off_t(run.fileOffset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    return .damaged(file: file, object: object, reason: n == 0 ? "the file is truncated" : String(cString: strerror(errno)))
                }
                done += n
                // Skip the iovecs a short read filled; trim the one it stopped in.
                var left = n
                while first < used && left >= vectors[first].iov_len { left -= vectors[first].iov_len; first += 1 }
                if left > 0 {
                    vectors[first].iov_base += left
                    vectors[first].iov_len -= left
                }
            }
            guard checksummed else { return nil }
            for p in run.pieces {
                let piece = shared.pieces[p]
                shared.sums[p] = Fletcher32.sums(pointer(piece), piece.bytes)
            }
            return nil
        }
    }
}
