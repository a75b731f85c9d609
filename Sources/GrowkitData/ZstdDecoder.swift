import CZstd

/// Streaming zstd decompression of a whole file into memory, with a size bound.
///
/// The input is read in `ZSTD_DStreamInSize()` chunks and fed to
/// `ZSTD_decompressStream`, which writes straight into the output array. The
/// output starts at the frame's declared content size when the header records
/// it (the `zstd` CLI writes it; an oversized file is then refused before any
/// decoding) and otherwise at 1 MiB, doubling as needed, but never beyond
/// `limit + 1` bytes: producing byte `limit + 1` is the signal to stop, so a
/// "zstd bomb" costs at most `limit + 1` bytes of memory. Concatenated frames are
/// accepted; the decoder's window is capped at libzstd's default (2^27 bytes).
enum ZstdDecoder {
    /// `ZSTD_CONTENTSIZE_UNKNOWN` and `ZSTD_CONTENTSIZE_ERROR` (macros Swift does not import).
    private static let contentSizeUnknown = UInt64.max
    private static let contentSizeError = UInt64.max - 1

    static func decompress(_ file: ReadOnlyFile, limit: Int) throws(DataError) -> [UInt8] {
        let path = file.path
        let header = try file.readBytes(at: 0, count: 18)  // ZSTD_FRAMEHEADERSIZE_MAX
        let declared = header.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        let isDeclared = declared != contentSizeUnknown && declared != contentSizeError
        if isDeclared && declared > UInt64(limit) { throw .decompressedTooLarge(path: path, limit: limit) }

        guard let stream = ZSTD_createDStream() else {
            throw .unreadable(path: path, reason: "libzstd could not allocate a decompression stream")
        }
        defer { ZSTD_freeDStream(stream) }
        let initResult = ZSTD_initDStream(stream)
        if ZSTD_isError(initResult) != 0 { throw .corruptZstd(path: path, reason: errorName(initResult)) }

        let maxCapacity = limit + 1
        // One spare byte past a declared size lets the decoder finish without a regrowth.
        var output = [UInt8](repeating: 0, count: min(maxCapacity, isDeclared ? Int(declared) + 1 : 1 << 20))
        var produced = 0
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: ZSTD_DStreamInSize(), alignment: 16)
        defer { input.deallocate() }
        var offset = 0
        // 0 when the last frame was completely decoded and flushed.
        var lastResult = 1
        while offset < file.size {
            let chunk = UnsafeMutableRawBufferPointer(rebasing: input[0..<min(input.count, file.size - offset)])
            try file.read(at: offset, into: chunk)
            offset += chunk.count
            var inBuffer = ZSTD_inBuffer(src: chunk.baseAddress, size: chunk.count, pos: 0)
            // libzstd does not consume a frame's last byte before it has flushed all
            // of the frame's output, so draining the input drains the output.
            while inBuffer.pos < inBuffer.size {
                if produced == output.count {
                    let grown = min(maxCapacity, 2 * output.count)
                    output.append(contentsOf: repeatElement(0, count: grown - output.count))
                }
                let result = output.withUnsafeMutableBytes { outRaw in
                    var outBuffer = ZSTD_outBuffer(dst: outRaw.baseAddress, size: outRaw.count, pos: produced)
                    let result = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                    produced = outBuffer.pos
                    return result
                }
                if ZSTD_isError(result) != 0 { throw .corruptZstd(path: path, reason: errorName(result)) }
                if produced > limit { throw .decompressedTooLarge(path: path, limit: limit) }
                lastResult = result
            }
        }
        if lastResult != 0 { throw .truncatedZstd(path: path, decompressedBytes: produced) }
        output.removeLast(output.count - produced)
        return output
    }

    private static func errorName(_ code: Int) -> String {
        String(cString: ZSTD_getErrorName(code))
    }
}
