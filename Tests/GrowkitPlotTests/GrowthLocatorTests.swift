import GrowkitPlot
import GrowkitState
import Testing

/// Where growths are placed, and the FLOPs of a grown run.
@Suite struct GrowthLocatorTests {
    let grow = PlotFixtures.growRecord(source: "small.h5", operators: ["depth=identity:2"])

    @Test func plottedSourceGivesTheExactEntry() {
        let small = PlotFixtures.run("small.h5", PlotFixtures.history(tokens: [10, 20, 30], loss: [5, 4, 3]))
        let grown = PlotFixtures.run("grown.h5", PlotFixtures.history(tokens: [10, 20, 30, 40, 50], loss: [5, 4, 3, 2.9, 2.8]),
                                     provenance: [PlotFixtures.makeFixture, grow])
        let points = GrowthLocator.locate(grown, among: [small, grown])
        #expect(points.map(\.historyIndex) == [2] && points.map(\.method) == [.source])
        #expect(points.first?.recordIndex == 1 && points.first?.label == "grow: depth=identity:2")
        // A source whose history is not a prefix (another run of the same name) is not trusted.
        let impostor = PlotFixtures.run("small.h5", PlotFixtures.history(tokens: [10, 20, 31], loss: [5, 4, 3]))
        #expect(GrowthLocator.locate(grown, among: [impostor, grown]).map(\.method) == [.lastEntry])
    }

    @Test func stepGoingBackMarksARestartedGrowth() throws {
        // restart: steps 10, 20, 30, then 10, 20 again while tokens keep counting.
        let history = PlotFixtures.history(tokens: [10, 20, 30, 40, 50], loss: [5, 4, 3, 2.9, 2.8], steps: [10, 20, 30, 10, 20])
        let grown = PlotFixtures.run("grown.h5", history, provenance: [PlotFixtures.makeFixture, grow])
        let points = GrowthLocator.locate(grown, among: [grown])
        #expect(points.map(\.historyIndex) == [2] && points.map(\.method) == [.stepReset])
        // Against steps, the curve starts a new subpath where the step goes back.
        let svg = try LossPlot.render([grown], options: PlotOptions(x: .steps)).svg
        let d = SVGElements(svg).all("path", class: "run").first?.attributes["d"] ?? ""
        #expect(d.filter { $0 == "M" }.count == 2 && d.filter { $0 == "L" }.count == 3)
    }

    @Test func otherwiseTheLastEntry() {
        let grown = PlotFixtures.run("grown.h5", PlotFixtures.history(tokens: [10, 20, 30], loss: [5, 4, 3]),
                                     provenance: [PlotFixtures.makeFixture, grow])
        #expect(GrowthLocator.locate(grown, among: [grown]).map(\.historyIndex) == [2])
        let plain = PlotFixtures.run("plain.h5", PlotFixtures.history(tokens: [10], loss: [5]))
        #expect(GrowthLocator.locate(plain, among: [plain]).isEmpty)
    }

    /// 6 N D per segment: entries up to the growth at the 2-layer source's size.
    @Test func flopsCountTheSourceModelBeforeTheGrowth() {
        let config = RandomState.tinyConfig(.llama, numLayers: 4)
        let small = Double(RandomState.tinyConfig(.llama, numLayers: 2).parameterCount)
        let big = Double(config.parameterCount)
        #expect(small < big)
        let history = PlotFixtures.history(tokens: [100, 200, 300], loss: [5, 4, 3])
        let run = PlotFixtures.run("g.h5", history, provenance: [grow], config: config)
        let points = GrowthLocator.locate(run, among: [run])
        // The growth is at the last entry here, so move it to entry 1 by hand.
        var moved = points
        moved[0].historyIndex = 1
        let flops = FlopsCurve.flops(history: history, config: config, growths: moved)
        #expect(flops == [600 * small, 1200 * small, 1200 * small + 600 * big])
        #expect(FlopsCurve.flops(history: history, config: config, growths: []) == [600 * big, 1200 * big, 1800 * big])
    }
}
