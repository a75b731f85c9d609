import Foundation
import Testing
@testable import GrowkitCheckpoint
import GrowkitState

/// FIPS 180-4 / NIST example vectors, and a file digest against coreutils' sha256sum.
@Suite struct SHA256Tests {
    @Test func nistVectors() {
        #expect(SHA256.hex(of: Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // One million 'a', fed in uneven pieces to exercise the streaming buffer.
        var hasher = SHA256()
        let pieces = [1, 63, 64, 65, 1000, 7]
        var fed = 0, index = 0
        while fed < 1_000_000 {
            let n = min(pieces[index % pieces.count], 1_000_000 - fed)
            hasher.update(repeatElement(UInt8(ascii: "a"), count: n))
            fed += n
            index += 1
        }
        #expect(hasher.finalize().map { String(format: "%02x", $0) }.joined()
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func fileDigestMatchesSha256sum() throws {
        let path = fixtures + "/tiny-gpt2.h5"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(try SHA256.hex(ofFile: path) == String(output.prefix(64)))
        #expect(throws: StateError.self) { _ = try SHA256.hex(ofFile: fixtures + "/absent.h5") }
    }
}
