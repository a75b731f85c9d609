import Foundation
import GrowkitData
import Testing

/// The bundled corpus. The expected values were read from the file by hand
/// (`zstd -dc fixtures/jargon-file-4.4.7.txt.zst | wc -c`, `| head -c 200 | od -c`,
/// `| tail -n 2`), not from this code.
@Suite struct JargonFixtureTests {
    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/jargon-file-4.4.7.txt.zst").path

    @Test func decompressesToTheKnownText() throws {
        let source = try TokenSource(path: Self.path)
        #expect(source.format == .zstdText)
        #expect(source.count == 1_418_350)
        let header = "\n\n00-database-dictfmt-1.13.0\nhttp://catb.org/~esr/jargon/jargsrc.tar.gz\n00-database-short\n"
            + "     The Jargon File (version 4.4.7, 29 Dec 2003)\n"
        let headerBytes = Array(header.utf8)
        #expect(try source.tokens(0..<headerBytes.count) == headerBytes.map { TokenID($0) })
        let trailer = Array("    games.\n\n !$&'()*+,-./012345679>?@[]abcdefghijklmnopqrstuvwxyz|~\n".utf8)
        #expect(try source.tokens((source.count - trailer.count)..<source.count) == trailer.map { TokenID($0) })
        try source.validate(vocabSize: 256)
    }

    @Test func heldOutSplitSizes() throws {
        let (train, validation) = try TokenSource(path: Self.path).split(validationFraction: 0.1)
        #expect(train.count == 1_276_515)
        #expect(validation.count == 141_835)
    }

    /// Flipping bytes inside the frame is caught (by a decoding error or the frame's XXH64 checksum).
    @Test func corruptedCopyIsRejected() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.path)))
        for i in stride(from: 200_000, to: 200_064, by: 1) { bytes[i] ^= 0x5A }
        let path = try writeFile(bytes, named: "corrupt.txt.zst", in: folder)
        let error = dataError { () throws(DataError) in try TokenSource(path: path) }
        guard case .corruptZstd(let errorPath, _) = error else { Issue.record("expected corruptZstd, got \(String(describing: error))"); return }
        #expect(errorPath == path)
    }
}
