import Foundation
import GrowkitData
import Testing

/// Every bad-input case gives a typed error whose description is one sentence naming the file.
@Suite struct DataErrorTests {
    static func expectOneSentence(_ error: DataError?, naming path: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error else { Issue.record("expected an error", sourceLocation: sourceLocation); return }
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        #expect(error.description.hasSuffix("."), sourceLocation: sourceLocation)
        #expect(error.description.contains(path), "\(error)", sourceLocation: sourceLocation)
    }

    @Test func oddLengthBin() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try writeFile([1, 0, 2], named: "odd.bin", in: folder)
        let error = dataError { () throws(DataError) in try TokenSource(path: path) }
        #expect(error == .oddByteCount(path: path, bytes: 3))
        Self.expectOneSentence(error, naming: path)
    }

    @Test func truncatedZstd() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = Array(String(repeating: sampleText, count: 50).utf8)
        let compressed = zstdCompress(text)
        let path = try writeFile(Array(compressed.prefix(compressed.count / 2)), named: "cut.txt.zst", in: folder)
        let error = dataError { () throws(DataError) in try TokenSource(path: path) }
        guard case .truncatedZstd(path, _) = error else { Issue.record("got \(String(describing: error))"); return }
        Self.expectOneSentence(error, naming: path)
    }

    @Test func garbageAfterTheMagicIsCorrupt() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try writeFile([0x28, 0xB5, 0x2F, 0xFD] + [UInt8](repeating: 0xFF, count: 60), named: "junk.zst", in: folder)
        let error = dataError { () throws(DataError) in try TokenSource(path: path) }
        guard case .corruptZstd(path, _) = error else { Issue.record("got \(String(describing: error))"); return }
        Self.expectOneSentence(error, naming: path)
    }

    @Test func zstdNameWithoutMagic() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try writeFile(Array(sampleText.utf8), named: "plain.txt.zst", in: folder)
        #expect(dataError { () throws(DataError) in try TokenSource(path: path) } == .notZstd(path: path))
        let other = try writeFile(Array(sampleText.utf8), named: "plain.txt", in: folder)
        #expect(dataError { () throws(DataError) in try TokenSource(path: other, format: .zstdText) } == .notZstd(path: other))
    }

    /// Refused when the header declares too much, and while streaming when it does not say.
    @Test func decompressionBomb() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        for recordContentSize in [true, false] {
            let path = try writeFile(zstdCompress(zeros, recordContentSize: recordContentSize), named: "bomb-\(recordContentSize).zst", in: folder)
            let error = dataError { () throws(DataError) in try TokenSource(path: path, maxDecompressedBytes: 100_000) }
            #expect(error == .decompressedTooLarge(path: path, limit: 100_000))
            Self.expectOneSentence(error, naming: path)
            #expect(try TokenSource(path: path, maxDecompressedBytes: 1 << 20).count == 1 << 20)
        }
    }

    @Test func fileShorterThanOneWindow() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try writeFile(uint16Bytes(Array(0..<16)), named: "short.bin", in: folder)
        let source = try TokenSource(path: path)
        let error = dataError { () throws(DataError) in try SequentialSampler(source: source, batchSize: 1, seqLen: 16) }
        #expect(error == .tooShort(path: path, tokens: 16, seqLen: 16))
        #expect(error?.description.contains("16 tokens") == true && error?.description.contains("17") == true)
        Self.expectOneSentence(error, naming: path)
        #expect(dataError { () throws(DataError) in try RandomWindowSampler(source: source, batchSize: 1, seqLen: 16, seed: 0) }
                == .tooShort(path: path, tokens: 16, seqLen: 16))
        // Exactly one window is enough.
        #expect(try firstWindowStarts(SequentialSampler(source: source, batchSize: 2, seqLen: 15)) == [0, 0])
    }

    @Test func tokenAtOrAboveVocab() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try writeFile(zstdCompress(uint16Bytes([5, 256])), named: "big.bin.zst", in: folder)
        let error = dataError { () throws(DataError) in try TokenSource(path: path).validate(vocabSize: 256) }
        #expect(error == .tokenOutOfRange(path: path, tokenOffset: 1, byteOffset: 2, token: 256, vocabSize: 256, compressed: true))
        Self.expectOneSentence(error, naming: path)
    }

    @Test func missingFileAndDirectory() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("nope.bin").path
        let error = dataError { () throws(DataError) in try TokenSource(path: missing) }
        #expect(error == .fileNotFound(path: missing))
        Self.expectOneSentence(error, naming: missing)
        let directoryError = dataError { () throws(DataError) in try TokenSource(path: folder.path) }
        guard case .unreadable(folder.path, _) = directoryError else { Issue.record("got \(String(describing: directoryError))"); return }
        Self.expectOneSentence(directoryError, naming: folder.path)
    }

    @Test func badSamplerArguments() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = try TokenSource(path: writeFile(uint16Bytes(Array(0..<64)), named: "r.bin", in: folder))
        #expect(dataError { () throws(DataError) in try SequentialSampler(source: source, batchSize: 0, seqLen: 4) } != nil)
        #expect(dataError { () throws(DataError) in try SequentialSampler(source: source, batchSize: 1, seqLen: -1) } != nil)
        #expect(dataError { () throws(DataError) in try SequentialSampler(source: source, batchSize: Int.max, seqLen: 4) } != nil)
        let cursorError = dataError { () throws(DataError) in try SequentialSampler(source: source, batchSize: 1, seqLen: 4, cursor: 65) }
        #expect(cursorError?.description.contains("data_cursor") == true)
        #expect(dataError { () throws(DataError) in try SequentialSampler(source: source, batchSize: 1, seqLen: 4, cursor: -1) } != nil)
        #expect(try firstWindowStarts(SequentialSampler(source: source, batchSize: 1, seqLen: 4, cursor: 64)) == [0])
    }
}
