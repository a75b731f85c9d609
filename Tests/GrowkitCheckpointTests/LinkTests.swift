import Foundation
import GrowkitStorage
import GrowkitTestSupport
import Testing
@testable import GrowkitCheckpoint

/// docs/FORMAT.md, "Links": a checkpoint is read through hard links only. A soft,
/// external or dangling link anywhere growkit looks is refused with one sentence
/// naming the link and its target, before any data is read (an external link
/// used to make `--verify` say OK while `--stats` read the main file's bytes at
/// the linked file's chunk offsets).
@Suite struct LinkTests {
    let weight = "/params/model/layers/0/self_attn/q_proj/weight"

    func linkedCopy(_ edit: (CheckpointSurgery, ScratchFolder) throws -> Void) throws -> (ScratchFolder, String) {
        let folder = try ScratchFolder()
        let path = folder.file("linked.h5")
        try FileManager.default.copyItem(atPath: fixtures + "/tiny-llama.h5", toPath: path)
        try FileManager.default.copyItem(atPath: fixtures + "/tiny-llama.h5", toPath: folder.file("other.h5"))
        try CheckpointSurgery.edit(path) { try edit($0, folder) }
        return (folder, path)
    }

    func expectLinkRefusal(_ path: String, object: String, link: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let reader = try CheckpointReader(path: path)
            // Whatever opens, no read may succeed through the link.
            try reader.verifyAllChunks()
            _ = try reader.parameters()
            Issue.record("\(path) was read through \(link)", sourceLocation: sourceLocation)
        } catch {
            #expect(error == .storage(.link(file: path, object: object, link: link)), "\(error)", sourceLocation: sourceLocation)
            #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        }
    }

    @Test func externalLinkToATensorIsRefused() throws {
        let (folder, path) = try linkedCopy { surgery, folder in
            try surgery.replaceWithExternalLink(weight, file: folder.file("other.h5"), object: weight)
        }
        defer { folder.remove() }
        expectLinkRefusal(path, object: weight, link: "an external link to \(folder.file("other.h5")):\(weight)")
    }

    @Test func externalLinkToAGroupIsRefused() throws {
        let (folder, path) = try linkedCopy { surgery, _ in
            try surgery.replaceWithExternalLink("/params/model", file: "other.h5", object: "/params/model")
        }
        defer { folder.remove() }
        expectLinkRefusal(path, object: "/params/model", link: "an external link to other.h5:/params/model")
    }

    @Test func danglingExternalLinkIsALinkNotAMissingDataset() throws {
        let (folder, path) = try linkedCopy { surgery, _ in
            try surgery.replaceWithExternalLink(weight, file: "/nonexistent/file.h5", object: "/x")
        }
        defer { folder.remove() }
        expectLinkRefusal(path, object: weight, link: "an external link to /nonexistent/file.h5:/x")
    }

    @Test func softLinksInsideAndOutsideTheTensorGroupsAreRefused() throws {
        for target in ["/params/model/layers/1/self_attn/q_proj/weight", "/history/loss", "/nowhere", weight] {
            let (folder, path) = try linkedCopy { surgery, _ in try surgery.replaceWithSoftLink(weight, to: target) }
            defer { folder.remove() }
            expectLinkRefusal(path, object: weight, link: "a soft link to \(target)")
        }
    }

    @Test func softLinkedMetadataGroupIsRefused() throws {
        let (folder, path) = try linkedCopy { surgery, _ in try surgery.replaceWithSoftLink("/schedule", to: "/config") }
        defer { folder.remove() }
        expectLinkRefusal(path, object: "/schedule", link: "a soft link to /config")
    }
}
