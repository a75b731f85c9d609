import CZstd
import Foundation
import GrowkitData

/// A fresh temporary folder for one test; the caller removes it with `defer`.
func makeScratchFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("growkit-data-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `bytes` to `name` inside `folder` and returns the path.
@discardableResult
func writeFile(_ bytes: [UInt8], named name: String, in folder: URL) throws -> String {
    let url = folder.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

/// `tokens` as a flat little-endian uint16 file body (nanoGPT's `train.bin` layout),
/// built byte by byte so it does not depend on the host's byte order.
func uint16Bytes(_ tokens: [Int]) -> [UInt8] {
    tokens.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
}

/// Compresses with libzstd's one-shot API, independently of the decoder under test.
/// `recordContentSize: false` leaves the size out of the frame header, as a
/// streaming compressor does, so the decoder's streaming bound is exercised.
func zstdCompress(_ bytes: [UInt8], level: Int32 = 3, recordContentSize: Bool = true) -> [UInt8] {
    let context = ZSTD_createCCtx()!
    defer { ZSTD_freeCCtx(context) }
    _ = ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
    _ = ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, recordContentSize ? 1 : 0)
    _ = ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
    var output = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
    let written = output.withUnsafeMutableBytes { out in
        bytes.withUnsafeBytes { ZSTD_compress2(context, out.baseAddress, out.count, $0.baseAddress, $0.count) }
    }
    precondition(ZSTD_isError(written) == 0, "test compressor failed")
    return Array(output[0..<written])
}

/// Runs `body` and returns the ``DataError`` it threw, or `nil` if it did not throw.
func dataError<T>(_ body: () throws(DataError) -> T) -> DataError? {
    do { _ = try body(); return nil } catch { return error }
}

/// A short multilingual text: ASCII, two-byte and three-byte UTF-8 characters.
let sampleText = "The Jargon File: hacker slang. Ünïcödé costs more bytes — “quotes” too.\nEnd of sample.\n"

/// The window starts of a fresh sampler's first batch.
func firstWindowStarts(_ sampler: SequentialSampler) throws(DataError) -> [Int] {
    var sampler = sampler
    return try sampler.next().windowStarts
}
