import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GrowkitCheckpoint
import GrowkitState
import Testing

/// `growkit plot`: a real growth plotted with its source, a hand-built restarted run,
/// and bad input (one sentence, non-zero exit, no SVG written).
@Suite struct PlotCommandTests {
    let llama = fixturesFolder.appendingPathComponent("tiny-llama.h5").path

    /// Elements of an SVG file by name, with their attributes and text (FoundationXML's XMLParser).
    final class Elements: NSObject, XMLParserDelegate {
        var found: [(name: String, attributes: [String: String], text: String)] = []
        var ok = false
        private var open: [Int] = []
        init(_ url: URL) throws {
            super.init()
            let parser = XMLParser(data: try Data(contentsOf: url))
            parser.delegate = self
            ok = parser.parse()
        }
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            found.append((name, attributes, ""))
            open.append(found.count - 1)
        }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            open.removeLast()
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let last = open.last { found[last].text += string }
        }
        func all(_ name: String, _ className: String) -> [(name: String, attributes: [String: String], text: String)] {
            found.filter { $0.name == name && $0.attributes["class"] == className }
        }
    }

    /// `grow` on the fixture, then the source and the grown state in one plot: the growth
    /// sits at the source's last entry, found through the plotted source.
    @Test func growThenPlotSourceAndGrown() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let grown = folder.appendingPathComponent("grown.h5").path
        let growRun = try runGrowkit(["grow", llama, grown, "--depth", "identity:2"])
        #expect(growRun.status == 0, "\(growRun.stderr)")
        let out = folder.appendingPathComponent("curves.svg")
        let run = try runGrowkit(["plot", llama, grown, "--out", out.path, "--title", "source and grown"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("grown.h5: 4 points; grow: depth=identity:2 after entry 4 (5120 tokens; placed from its growth record)"))
        let svg = try Elements(out)
        #expect(svg.ok)
        #expect(svg.all("path", "run").map { $0.attributes["data-label"] } == ["tiny-llama.h5", "grown.h5"])
        let growths = svg.all("g", "growth")
        #expect(growths.count == 1)
        #expect(growths.first?.attributes["data-run"] == "1" && growths.first?.attributes["data-entry"] == "3")
        #expect(growths.first?.attributes["data-method"] == "recorded")
        #expect(svg.all("text", "axis-label").map(\.text) == ["tokens seen", "training loss (nats per token, log scale)"])
        #expect(svg.all("text", "title").first?.text == "source and grown")
        // Other axes and labels.
        for extra in [["--x", "flops", "--log-x"], ["--x", "steps", "--linear-y"], ["--label", "small", "--label", "big"]] {
            let r = try runGrowkit(["plot", llama, grown, "--out", out.path] + extra)
            #expect(r.status == 0, "\(extra): \(r.stderr)")
        }
        let labelled = try Elements(out)
        #expect(labelled.all("text", "legend-label").map(\.text) == ["small", "big", "growth (provenance)"])
        // No temporary file is left beside the output.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["curves.svg", "grown.h5"])
    }

    /// A hand-built run grown with a restarted schedule (the step goes back) and trained on,
    /// plotted against FLOPs: one mark, at the entry before the reset.
    @Test func restartedGrowthIsMarkedWhereTheStepGoesBack() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var state = RandomState.state(config: RandomState.tinyConfig(.llama), seed: 3)
        state.history = TrainingHistory(step: [10, 20, 30, 10, 20], loss: [5.4, 5.2, 5.1, 4.9, 4.8],
                                        lr: [1e-3, 1e-3, 1e-3, 1e-4, 1e-3], tokens: [1280, 2560, 3840, 5120, 6400])
        state.provenance.append(ProvenanceRecord(
            operatorName: "grow", source: "elsewhere.h5", sourceSHA256: String(repeating: "a", count: 64), toolVersion: "test",
            growth: GrowthRecord(exact: true, operators: ["width=duplicate:2"], sizes: ["hidden_size": [16, 32]],
                                 layerSources: [0, 1], newTensors: [], partlyNewTensors: [], copiedTensors: []),
            time: "2026-01-01T00:00:00Z"))
        let path = folder.appendingPathComponent("restarted.h5").path
        try CheckpointWriter.write(state, to: path)
        let out = folder.appendingPathComponent("flops.svg")
        let run = try runGrowkit(["plot", path, "--out", out.path, "--x", "flops"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("after entry 3 (3840 tokens; placed where the step goes back)"))
        let svg = try Elements(out)
        #expect(svg.all("g", "growth").first?.attributes["data-entry"] == "2")
        #expect(svg.all("text", "axis-label").first?.text == "training compute (FLOPs = 6 × parameters × tokens)")
        #expect(svg.all("text", "tick").contains { $0.text.contains("e") })
    }

    /// Bad input: one sentence naming the file, exit 1, and an existing SVG left as it was.
    @Test func badInputFailsCleanlyAndWritesNothing() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var state = RandomState.state(config: RandomState.tinyConfig(.gpt2), seed: 1)
        state.history = TrainingHistory()
        let empty = folder.appendingPathComponent("empty.h5").path
        try CheckpointWriter.write(state, to: empty)
        let out = folder.appendingPathComponent("old.svg")
        try Data("old".utf8).write(to: out)
        let missing = folder.appendingPathComponent("missing.h5").path

        expectCleanFailure(try runGrowkit(["plot", llama, empty, "--out", out.path]), mentioning: [empty, "no history entries"])
        expectCleanFailure(try runGrowkit(["plot", llama, missing, "--out", out.path]), mentioning: ["missing.h5", "not found"])
        expectCleanFailure(try runGrowkit(["plot", "--out", out.path]), mentioning: ["no checkpoints to plot"])
        expectCleanFailure(try runGrowkit(["plot", llama, "--out", folder.path]), mentioning: [folder.path, "is a folder"])
        expectCleanFailure(try runGrowkit(["plot", llama, "--out", out.path, "--validation"]),
                           mentioning: ["tiny-llama.h5", "no validation history"])
        expectCleanFailure(try runGrowkit(["plot", llama, "--out", out.path, "--label", "a", "--label", "b"]),
                           mentioning: ["--label", "2 time(s) for 1 checkpoint(s)"])
        #expect(try String(contentsOf: out, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["empty.h5", "old.svg"])
    }
}
