import Foundation
import GrowkitPlot
import GrowkitState
import Testing

/// The SVG as XML: one path per run, a mark per growth, axis labels, and pixel
/// coordinates worked out by hand.
///
/// Canvas 800 x 500, margins left 78, right 24, top 44, bottom 56: the plot area
/// spans x 78...776 (698 px) and y 44...444 (400 px). A run with tokens 1000,
/// 2000, 4000 and loss 4, 3, 2: x from 0 to 4000 plus 2% room on the right
/// (0...4080), y from 2 to 4 padded by 5% of the span at both ends (1.9...4.1).
@Suite struct LossPlotTests {
    let three = PlotFixtures.run("a.h5", PlotFixtures.history(tokens: [1000, 2000, 4000], loss: [4, 3, 2]))

    @Test func linearYPixelsMatchHandComputation() throws {
        let plot = try LossPlot.render([three], options: PlotOptions(yScale: .linear))
        let svg = SVGElements(plot.svg)
        #expect(svg.parseError == nil)
        let paths = svg.all("path", class: "run")
        try #require(paths.count == 1)
        let points = SVGElements.points(paths[0].attributes["d"] ?? "")
        // y domain 1.9...4.1 (span 2.2): loss 4 -> 444 - 2.1/2.2 * 400 = 62.18; 3 -> 244; 2 -> 425.82.
        // x: 1000 -> 78 + 698 * 1000/4080 = 249.08; 2000 -> 420.16; 4000 -> 762.31.
        let expected: [(Double, Double)] = [(249.08, 62.18), (420.16, 244), (762.31, 425.82)]
        try #require(points.count == 3)
        for (p, e) in zip(points, expected) {
            #expect(abs(p.0 - e.0) < 0.006 && abs(p.1 - e.1) < 0.006, "\(p) != \(e)")
        }
    }

    @Test func logYPixelsMatchHandComputation() throws {
        let plot = try LossPlot.render([three], options: PlotOptions(yScale: .log))
        let points = SVGElements.points(SVGElements(plot.svg).all("path", class: "run")[0].attributes["d"] ?? "")
        // log10: domain log10(2) - 0.01505 ... log10(4) + 0.01505; loss 3 sits at
        // (0.47712 - 0.28598) / 0.33113 = 0.57724 of the height: 444 - 230.90 = 213.10.
        try #require(points.count == 3)
        #expect(abs(points[1].0 - 420.16) < 0.006 && abs(points[1].1 - 213.10) < 0.006, "\(points[1])")
        #expect(abs(points[0].1 - 62.18) < 0.006 && abs(points[2].1 - 425.82) < 0.006)
    }

    @Test func onePathPerRunAMarkPerGrowthAndAxisLabels() throws {
        let small = PlotFixtures.run("small.h5", PlotFixtures.history(tokens: [100, 200, 300], loss: [5, 4.5, 4.2]))
        var grownHistory = small.history
        grownHistory.append(step: 4, loss: 4.0, lr: 1e-3, tokens: 400)
        grownHistory.append(step: 5, loss: 3.9, lr: 1e-3, tokens: 500)
        let grown = PlotFixtures.run("grown.h5", grownHistory, provenance: [
            PlotFixtures.makeFixture, PlotFixtures.growRecord(source: "small.h5", operators: ["depth=identity:2"]),
        ])
        let other = PlotFixtures.run("other.h5", PlotFixtures.history(tokens: [100, 250, 500], loss: [5.2, 4.6, 4.1]))
        let plot = try LossPlot.render([small, grown, other], options: PlotOptions(title: "A & B <test>"))
        let svg = SVGElements(plot.svg)
        #expect(svg.parseError == nil)
        let paths = svg.all("path", class: "run")
        #expect(paths.map { $0.attributes["id"] } == ["run-0", "run-1", "run-2"])
        #expect(Set(paths.compactMap { $0.attributes["stroke"] }).count == 3)
        #expect(paths.map { $0.attributes["data-label"] } == ["small.h5", "grown.h5", "other.h5"])
        let growths = svg.all("g", class: "growth")
        try #require(growths.count == 1)
        #expect(growths[0].attributes["data-run"] == "1" && growths[0].attributes["data-entry"] == "2")
        #expect(growths[0].attributes["data-method"] == "source")
        #expect(svg.all("text").contains { $0.text == "grow: depth=identity:2" })
        let axisLabels = svg.all("text", class: "axis-label").map(\.text)
        #expect(axisLabels.contains("tokens seen"))
        #expect(axisLabels.contains("training loss (nats per token, log scale)"))
        #expect(svg.all("text", class: "title").first?.text == "A & B <test>")
        #expect(svg.all("text", class: "legend-label").map(\.text) == ["small.h5", "grown.h5", "other.h5", "growth (provenance)"])
        // The growth's ring sits on the grown run's third point.
        let ring = svg.all("circle", class: "growth-point").first
        let third = SVGElements.points(paths[1].attributes["d"] ?? "")[2]
        #expect(ring.flatMap { Double($0.attributes["cx"] ?? "") } == third.0)
        #expect(ring.flatMap { Double($0.attributes["cy"] ?? "") } == third.1)
        // Tick labels with suffixes: 0, 100, ..., 500 tokens.
        #expect(svg.all("text", class: "tick").contains { $0.text == "500" })
    }

    @Test func thousandsOfPointsStayOnePath() throws {
        let n = 5000
        let history = PlotFixtures.history(tokens: (1...n).map { $0 * 4096 }, loss: (1...n).map { 5.5 / pow(Double($0), 0.1) })
        let plot = try LossPlot.render([PlotFixtures.run("long.h5", history)], options: PlotOptions())
        let svg = SVGElements(plot.svg)
        #expect(svg.parseError == nil)
        #expect(SVGElements.points(svg.all("path", class: "run")[0].attributes["d"] ?? "").count == n)
        #expect(svg.all("text", class: "tick").contains { $0.text == "20M" })
    }

    @Test func emptyHistoryAndNoRunsAreErrors() {
        #expect(throws: PlotError.noRuns) { try LossPlot.render([], options: PlotOptions()) }
        let empty = PlotFixtures.run("empty.h5", TrainingHistory())
        #expect(throws: PlotError.emptyHistory("empty.h5")) { try LossPlot.render([three, empty], options: PlotOptions()) }
        #expect(PlotError.emptyHistory("empty.h5").description.hasPrefix("empty.h5 has no history entries"))
        let negative = PlotFixtures.run("neg.h5", PlotFixtures.history(tokens: [1], loss: [-1]))
        #expect(throws: PlotError.self) { try LossPlot.render([negative], options: PlotOptions(yScale: .log)) }
        #expect((try? LossPlot.render([negative], options: PlotOptions(yScale: .linear))) != nil)
        let atZero = PlotFixtures.run("zero.h5", PlotFixtures.history(tokens: [0], loss: [5]))
        #expect(throws: PlotError.nothingToDraw("zero.h5", reason: "no entry has x > 0, which a log x axis needs; drop --log-x")) {
            try LossPlot.render([atZero], options: PlotOptions(xScale: .log))
        }
        #expect(Ticks.linear(1, 1).values == [1, 1])  // a degenerate span cannot loop forever
    }
}
