import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GrowkitPlot
import GrowkitState

/// Runs for the plot tests, built by hand.
enum PlotFixtures {
    static let config = RandomState.tinyConfig(.llama)

    static func history(tokens: [Int], loss: [Double], steps: [Int]? = nil) -> TrainingHistory {
        TrainingHistory(step: steps ?? Array(1...tokens.count), loss: loss, lr: tokens.map { _ in 1e-3 }, tokens: tokens)
    }

    static func growRecord(source: String?, operators: [String], layers: [Int] = [2, 4]) -> ProvenanceRecord {
        ProvenanceRecord(operatorName: "grow", source: source, sourceSHA256: source == nil ? nil : String(repeating: "0", count: 64),
                         toolVersion: "0.1.0",
                         growth: GrowthRecord(exact: true, operators: operators, sizes: ["num_layers": layers],
                                              layerSources: [0, nil, 1, nil], newTensors: [], partlyNewTensors: [], copiedTensors: []),
                         time: "2026-01-01T00:00:00Z")
    }

    static let makeFixture = ProvenanceRecord(operatorName: "make-fixture", toolVersion: "0.1.0", time: "2026-01-01T00:00:00Z")

    static func run(_ name: String, _ history: TrainingHistory, provenance: [ProvenanceRecord] = [makeFixture],
                    config: ModelConfig = config) -> PlotRun {
        PlotRun(label: name, fileName: name, history: history, provenance: provenance, config: config)
    }
}

/// The elements of an SVG document, parsed as XML (FoundationXML's `XMLParser`,
/// which Linux has; `XMLDocument` is not needed).
final class SVGElements: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text: String
    }

    private(set) var elements: [Element] = []
    private var open: [Int] = []
    private(set) var parseError: Error?

    init(_ svg: String) {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        if !parser.parse() { parseError = parser.parserError ?? NSError(domain: "svg", code: 1) }
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(Element(name: name, attributes: attributes, text: ""))
        open.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let last = open.last { elements[last].text += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    func all(_ name: String, class className: String? = nil) -> [Element] {
        elements.filter { $0.name == name && (className == nil || $0.attributes["class"] == className) }
    }

    /// The points of a path's `d` (`M x,y L x,y ...`).
    static func points(_ d: String) -> [(Double, Double)] {
        d.split(whereSeparator: { $0 == "M" || $0 == "L" || $0 == " " }).compactMap { pair in
            let parts = pair.split(separator: ",").compactMap { Double($0) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
    }
}
