import CHDF5
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A run of whole, uncompressed chunks stored back to back in the file: read
/// with one `preadv` (chunk bytes straight into the caller's buffer, each
/// chunk's 4 fletcher32 bytes into a side array), then each chunk verified.
///
/// Reading and verifying a run touch only the file descriptor and memory (no
/// HDF5 call), so runs can be executed on several threads; HDF5 1.10 is not
/// thread-safe, so the runs are planned (`planChunkRuns`) on the caller's thread.
struct ChunkRun {
    /// Byte offset of the first chunk in the file.
    var fileOffset: UInt64
    /// Where the first chunk's bytes go.
    var target: UnsafeMutableRawPointer
    var chunkCount: Int
}

/// How runs are cut and spread over threads, measured with `growkit-bench storage`
/// on a 2-core EPYC (page-cache reads of GPT-2 124M; see StorageBenchmark.swift).
enum ChunkRunTuning {
    /// Bytes per run (at least one chunk: with the format's ~1 MiB chunks, one
    /// chunk per run). Small enough that a run's bytes are still in the core's
    /// L2 (2 MiB on the machine measured) when the checksum pass reads them
    /// right after `preadv` wrote them. Measured warm on GPT-2 124M (best of 3,
    /// 2 runs each, machine shared, parallel from 1 MiB): 1 MiB runs 0.63-0.76 of plain read(),
    /// 2 MiB 0.53-0.66, 4 MiB 0.53-0.58.
    static let runBytes = 1 << 20
    /// Requests with fewer bytes than this are read on the calling thread: each
    /// `concurrentPerform` costs wake-ups and, measured, extra CPU time that a
    /// few-MiB tensor does not win back. Warm GPT-2 124M reads (best of 3, two
    /// runs each, machine shared): 8 MiB 0.68-0.74 of plain read() at 0.084-0.097
    /// CPU s; 1 MiB 0.64-0.65 at 0.099-0.108 CPU s; 3 MiB 0.55-0.73.
    static let parallelMinimumBytes = 8 << 20
    /// Default threads that read and verify runs side by side (the online cores,
    /// at most 4); per file: `HDF5File.readThreads`.
    static let workers: Int = {
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return online > 0 ? min(4, online) : 1
    }()
}

/// Shares the runs' raw pointers with the workers: each run writes disjoint
/// bytes of the caller's buffer and its own slot of `failures`.
private struct SharedRuns: @unchecked Sendable {
    var runs: UnsafeBufferPointer<ChunkRun>
    var failures: UnsafeMutableBufferPointer<StorageError?>
}

extension HDF5Dataset {
    /// Plans runs of whole, uncompressed, contiguous chunks from chunk `start`
    /// on (at most `lastChunk`), each at most `ChunkRunTuning.runBytes` (at least
    /// one chunk), stopping at the first chunk that does not qualify (partly
    /// wanted, filtered, unallocated, or not right after the previous one; the
    /// caller then reads it through `H5Dread_chunk`). Returns the runs and the
    /// number of chunks they cover (0 when chunk `start` does not qualify).
    func planChunkRuns(
        from start: Int, to lastChunk: Int, _ rows: Range<Int>, _ layout: RowChunkLayout, _ destination: UnsafeMutableRawPointer
    ) throws(StorageError) -> (runs: [ChunkRun], chunks: Int) {
        let id = try openID()
        let storedSize = layout.chunkBytes + (layout.fletcherIndex != nil ? 4 : 0)
        // Runs of at most `runBytes`, and at least 2 per worker when the request
        // allows, so the workers get equal shares (chunks are the unit: each
        // chunk's checksum covers its whole bytes).
        let wholeChunks = lastChunk - start + 1
        let threads = max(1, owningFile?.readThreads ?? ChunkRunTuning.workers)
        let balanced = (wholeChunks + 2 * threads - 1) / (2 * threads)
        let perRun = max(1, min(256, balanced, ChunkRunTuning.runBytes / max(layout.chunkBytes, 1)))
        var runs: [ChunkRun] = []
        var at = [hsize_t](repeating: 0, count: layout.rank)
        var previous: UInt64? = nil
        var chunk = start
        while chunk <= lastChunk {
            let chunkStart = chunk * layout.chunkRows
            // Whole chunk wanted (never the edge chunk, stored padded past the last row).
            guard chunkStart >= rows.lowerBound, chunkStart + layout.chunkRows <= rows.upperBound else { break }
            at[0] = hsize_t(chunkStart)
            var mask: UInt32 = 0
            var address: haddr_t = 0
            var size: hsize_t = 0
            guard H5Dget_chunk_info_by_coord(id, &at, &mask, &address, &size) >= 0 else {
                _ = H5Eclear2(growkit_H5E_DEFAULT())
                break
            }
            guard mask == 0, Int(size) == storedSize, address != haddr_t.max else { break }
            let target = destination + (chunkStart - rows.lowerBound) * layout.rowBytes
            if let previous, UInt64(address) == previous + UInt64(storedSize), runs[runs.count - 1].chunkCount < perRun {
                runs[runs.count - 1].chunkCount += 1
            } else {
                runs.append(ChunkRun(fileOffset: UInt64(address), target: target, chunkCount: 1))
            }
            previous = UInt64(address)
            chunk += 1
        }
        return (runs, chunk - start)
    }

    /// Reads and verifies `runs`: on `HDF5File.readThreads` threads when they
    /// hold at least `parallelMinimumBytes` (worker w takes runs w, w + W, ...,
    /// so the threads stream through the file side by side), else on this one.
    /// Every chunk is verified before this returns; the first failing run (in
    /// file order) decides the error thrown.
    func executeChunkRuns(_ runs: [ChunkRun], _ layout: RowChunkLayout, descriptor: Int32) throws(StorageError) {
        let totalBytes = runs.reduce(0) { $0 + $1.chunkCount } * layout.chunkBytes
        let workers = min(max(1, owningFile?.readThreads ?? ChunkRunTuning.workers), runs.count)
        let file = filePath, object = objectPath
        if workers < 2 || totalBytes < ChunkRunTuning.parallelMinimumBytes {
            for run in runs {
                if let failure = Self.readRun(run, layout, descriptor: descriptor, file: file, object: object) { throw failure }
            }
            return
        }
        var failures = [StorageError?](repeating: nil, count: runs.count)
        runs.withUnsafeBufferPointer { runs in
            failures.withUnsafeMutableBufferPointer { failures in
                let shared = SharedRuns(runs: runs, failures: failures)
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    var index = worker
                    while index < shared.runs.count {
                        shared.failures[index] = Self.readRun(shared.runs[index], layout, descriptor: descriptor, file: file, object: object)
                        if shared.failures[index] != nil { return }
                        index += workers
                    }
                }
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
    }

    /// One `preadv` for the run (repeated after a short read), then the SIMD
    /// fletcher32 of each chunk against its stored checksum. No HDF5 call: safe
    /// on any thread. Returns the error instead of throwing it (for workers).
    static func readRun(_ run: ChunkRun, _ layout: RowChunkLayout, descriptor: Int32, file: String, object: String) -> StorageError? {
        let checksummed = layout.fletcherIndex != nil
        let storedSize = layout.chunkBytes + (checksummed ? 4 : 0)
        let count = run.chunkCount
        let total = count * storedSize
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: count) { sums -> StorageError? in
            withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2 * count) { vectors -> StorageError? in
                var used = 0
                for k in 0..<count {
                    vectors[used] = iovec(iov_base: run.target + k * layout.chunkBytes, iov_len: layout.chunkBytes)
                    used += 1
                    if checksummed {
                        vectors[used] = iovec(iov_base: UnsafeMutableRawPointer(sums.baseAddress! + k), iov_len: 4)
                        used += 1
                    }
                }
                var done = 0, first = 0
                while done < total {
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
                for k in 0..<count {
                    guard Fletcher32.verify(run.target + k * layout.chunkBytes, layout.chunkBytes, stored: UInt32(littleEndian: sums[k])) else {
                        return .checksumMismatch(file: file, dataset: object)
                    }
                }
                return nil
            }
        }
    }
}
