import Foundation
import GrowkitData
import Testing

@Suite struct TokenSourceTests {
    /// The same text as plain bytes, as a zstd frame and as a uint16 token file
    /// must give the same token ids: its UTF-8 bytes.
    @Test func everyFormatReadsTheSameTokens() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bytes = Array(sampleText.utf8)
        let expected = bytes.map { TokenID($0) }

        let textPath = try writeFile(bytes, named: "sample.txt", in: folder)
        let zstdPath = try writeFile(zstdCompress(bytes), named: "sample.txt.zst", in: folder)
        let binPath = try writeFile(uint16Bytes(bytes.map(Int.init)), named: "sample.bin", in: folder)
        let binZstdPath = try writeFile(zstdCompress(uint16Bytes(bytes.map(Int.init))), named: "sample.bin.zst", in: folder)

        let sources = try [textPath, zstdPath, binPath, binZstdPath].map { path throws(DataError) in try TokenSource(path: path) }
        #expect(sources.map(\.format) == [.text, .zstdText, .uint16, .zstdUInt16])
        #expect(sources.map(\.format.tokenWidth) == [1, 1, 2, 2])
        for source in sources {
            #expect(source.count == bytes.count)
            #expect(try source.tokens(0..<source.count) == expected, "\(source.format)")
        }
    }

    /// Compression is detected by the frame magic, not the name; an explicit format overrides detection.
    @Test func detectionByContentAndOverride() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bytes = Array(sampleText.utf8)
        let disguised = try writeFile(zstdCompress(bytes), named: "corpus.dat", in: folder)
        let source = try TokenSource(path: disguised)
        #expect(source.format == .zstdText)
        #expect(try source.tokens(0..<source.count) == bytes.map { TokenID($0) })

        // A .bin file read as text: every byte becomes a token, twice as many tokens.
        let binPath = try writeFile(uint16Bytes([258, 7]), named: "tokens.bin", in: folder)
        let asText = try TokenSource(path: binPath, format: .text)
        #expect(try asText.tokens(0..<4) == [2, 1, 7, 0])
        #expect(try TokenSource(path: binPath).tokens(0..<2) == [258, 7])

        #expect(try TokenFileFormat(name: "uint16") == .uint16)
        #expect(try TokenFileFormat(name: "bin.zst") == .zstdUInt16)
        #expect(try TokenFileFormat(name: "TEXT.ZST") == .zstdText)
        #expect(dataError { () throws(DataError) in try TokenFileFormat(name: "parquet") } == .unknownFormat("parquet"))
    }

    /// The detection rule on its own: magic decides compression, the name without `.zst`/`.zstd` the encoding.
    @Test func detectionRule() throws {
        let magic = TokenFileFormat.zstdMagic + [0, 0]
        let plain: [UInt8] = Array("abcd".utf8)
        #expect(try TokenFileFormat.detect(path: "a/TRAIN.BIN", leadingBytes: plain) == .uint16)
        #expect(try TokenFileFormat.detect(path: "train.bin.zstd", leadingBytes: magic) == .zstdUInt16)
        #expect(try TokenFileFormat.detect(path: "notes.md", leadingBytes: magic) == .zstdText)
        #expect(try TokenFileFormat.detect(path: "empty.txt", leadingBytes: []) == .text)
        #expect(try TokenFileFormat.detect(path: "binary.dat", leadingBytes: plain) == .text)
        #expect(dataError { () throws(DataError) in try TokenFileFormat.detect(path: "x.zst", leadingBytes: plain) } == .notZstd(path: "x.zst"))
    }

    /// Several concatenated zstd frames are one stream (what `cat a.zst b.zst` produces).
    @Test func concatenatedFramesDecodeInOrder() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = Array("first frame\n".utf8), second = Array("second frame\n".utf8)
        let path = try writeFile(zstdCompress(first) + zstdCompress(second, recordContentSize: false), named: "two.zst", in: folder)
        let source = try TokenSource(path: path)
        #expect(try source.tokens(0..<source.count) == (first + second).map { TokenID($0) })
    }

    @Test func validationPassesAndReportsTheFirstBadToken() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try writeFile(uint16Bytes([1, 2, 255, 300, 4, 65535]), named: "bad.bin", in: folder)
        let source = try TokenSource(path: path)
        try source.validate(vocabSize: 65536)
        #expect(dataError { () throws(DataError) in try source.validate(vocabSize: 301) }
                == .tokenOutOfRange(path: path, tokenOffset: 5, byteOffset: 10, token: 65535, vocabSize: 301, compressed: false))
        let error = dataError { () throws(DataError) in try source.validate(vocabSize: 256) }
        #expect(error == .tokenOutOfRange(path: path, tokenOffset: 3, byteOffset: 6, token: 300, vocabSize: 256, compressed: false))
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("token offset 3") == true)

        // A slice reports offsets in the whole file, not in the slice.
        let tail = try source.slice(2..<6)
        #expect(dataError { () throws(DataError) in try tail.validate(vocabSize: 256) }
                == .tokenOutOfRange(path: path, tokenOffset: 3, byteOffset: 6, token: 300, vocabSize: 256, compressed: false))

        // Text bytes against a vocabulary smaller than 256: the first non-ASCII byte of "Ü".
        let textPath = try writeFile(Array(sampleText.utf8), named: "sample.txt", in: folder)
        let umlaut = Array(sampleText.utf8).firstIndex { $0 >= 128 }!
        #expect(dataError { () throws(DataError) in try TokenSource(path: textPath).validate(vocabSize: 128) }
                == .tokenOutOfRange(path: textPath, tokenOffset: umlaut, byteOffset: umlaut, token: 0xC3, vocabSize: 128, compressed: false))
        try TokenSource(path: textPath).validate(vocabSize: 256)
    }

    /// The held-out split: the last floor(N f) tokens, disjoint from the training part.
    @Test func splitIsTheLastFraction() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try writeFile(uint16Bytes(Array(0..<1005)), named: "ramp.bin", in: folder)
        let (train, validation) = try TokenSource(path: path).split(validationFraction: 0.1)
        #expect(train.tokenRange == 0..<905)
        #expect(validation.tokenRange == 905..<1005)
        #expect(try validation.tokens(0..<3) == [905, 906, 907])
        #expect(try train.tokens(902..<905) == [902, 903, 904])
        #expect(dataError { () throws(DataError) in try train.tokens(900..<906) } != nil)
        #expect(dataError { () throws(DataError) in try TokenSource(path: path).split(validationFraction: 1) } != nil)
        #expect(dataError { () throws(DataError) in try TokenSource(path: path).split(validationFraction: 0.0001) } != nil)
    }
}
