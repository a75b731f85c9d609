import CZstd

/// Streaming zstd decompression of a whole file into memory, with a size bound.
///
/// The input is read in `ZSTD_DStreamInSize()` chunks and fed to
/// `ZSTD_decompressStream`; the output grows chunk by chunk, and the bound is
/// checked before every append, so a "zstd bomb" is refused after at most
/// `limit` bytes rather than exhausting memory. When the first frame header
/// records its content size (the `zstd` CLI writes it), an oversized file is
/// refused before anything is decompressed. Concatenated frames are accepted;
/// decoder window size is capped at libzstd's default (2^27 bytes).
enum ZstdDecoder {
    /// `ZSTD_CONTENTSIZE_UNKNOWN` and `ZSTD_CONTENTSIZE_ERROR` (macros Swift does not import).
    private static let contentSizeUnknown = UInt64.max
    private static let contentSizeError = UInt64.max - 1

    static func decompress(_ file: ReadOnlyFile, limit: Int) throws(DataError) -> [UInt8] {
        let path = file.path
        let header = try file.readBytes(at: 0, count: 18)  // ZSTD_FRAMEHEADERSIZE_MAX
        let declared = header.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        if declared != contentSizeUnknown && declared != contentSizeError && declared > UInt64(limit) {
            throw .decompressedTooLarge(path: path, limit: limit)
        }

        guard let stream = ZSTD_createDStream() else {
            throw .unreadable(path: path, reason: "libzstd could not allocate a decompression stream")
        }
        defer { ZSTD_freeDStream(stream) }
        let initResult = ZSTD_initDStream(stream)
        if ZSTD_isError(initResult) != 0 { throw .corruptZstd(path: path, reason: errorName(initResult)) }

        var output = [UInt8]()
        if declared != contentSizeUnknown && declared != contentSizeError { output.reserveCapacity(Int(declared)) }
        let inChunk = ZSTD_DStreamInSize()
        var outChunk = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        var offset = 0
        // 0 when the last frame was completely decoded and flushed.
        var lastResult = 1
        while offset < file.size {
            let input = try file.readBytes(at: offset, count: inChunk)
            offset += input.count
            var failure: DataError?
            input.withUnsafeBytes { inRaw in
                var inBuffer = ZSTD_inBuffer(src: inRaw.baseAddress, size: inRaw.count, pos: 0)
                // libzstd does not consume a frame's last byte before it has flushed
                // all of the frame's output, so draining the input drains the output.
                while inBuffer.pos < inBuffer.size {
                    let (result, produced) = outChunk.withUnsafeMutableBytes { outRaw in
                        var outBuffer = ZSTD_outBuffer(dst: outRaw.baseAddress, size: outRaw.count, pos: 0)
                        let result = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                        return (result, outBuffer.pos)
                    }
                    if ZSTD_isError(result) != 0 { failure = .corruptZstd(path: path, reason: errorName(result)); return }
                    if produced > limit - output.count { failure = .decompressedTooLarge(path: path, limit: limit); return }
                    output.append(contentsOf: outChunk[0..<produced])
                    lastResult = result
                }
            }
            if let failure { throw failure }
        }
        if lastResult != 0 { throw .truncatedZstd(path: path, decompressedBytes: output.count) }
        return output
    }

    private static func errorName(_ code: Int) -> String {
        String(cString: ZSTD_getErrorName(code))
    }
}
