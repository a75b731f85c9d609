import Foundation
import GrowkitState

/// The plot and what it found: the SVG text and, per run, its growth points.
public struct RenderedPlot: Sendable {
    public var svg: String
    /// `growths[i]`: run `i`'s growths, in provenance order.
    public var growths: [[GrowthPoint]]
    /// `points[i]`: how many of run `i`'s history entries were drawn.
    public var points: [Int]
}

/// Loss curves as an SVG document: a pure function of the runs and options
/// (no file I/O, nothing printed). Layout (docs/PLOT.md): the title on top, the
/// plot area inside fixed margins, nice ticks with light grid lines, one `<path
/// class="run" id="run-i">` per run in its palette colour, one `<g class="growth">`
/// per growth (a dashed vertical line at the growth, a ring on the curve, the
/// operators as a rotated label), and a legend in the emptiest corner.
public enum LossPlot {
    /// Margins of the plot area inside the canvas, in pixels.
    public static let margin = (left: 78.0, right: 24.0, top: 44.0, bottom: 56.0)

    /// One run's drawable points in data units, with the history index of each.
    struct Series {
        var x: [Double] = []
        var y: [Double] = []
        var entry: [Int] = []
    }

    public static func render(_ runs: [PlotRun], options: PlotOptions) throws(PlotError) -> RenderedPlot {
        guard !runs.isEmpty else { throw .noRuns }
        for run in runs where run.history.count == 0 { throw .emptyHistory(run.fileName) }
        let growths = runs.map { GrowthLocator.locate($0, among: runs) }
        var series: [Series] = []
        for (run, points) in zip(runs, growths) {
            let xs = xValues(run, points, options.x)
            var s = Series()
            for i in 0..<run.history.count {
                let x = xs[i], y = run.history.loss[i]
                guard x.isFinite, y.isFinite else { continue }
                if options.xScale == .log && x <= 0 { continue }
                if options.yScale == .log && y <= 0 { continue }
                s.x.append(x)
                s.y.append(y)
                s.entry.append(i)
            }
            if s.x.isEmpty {
                let finite = run.history.loss.contains { $0.isFinite } && xs.contains { $0.isFinite }
                let why = !finite ? "every entry's loss or x value is non-finite"
                    : options.xScale == .log && !xs.contains(where: { $0 > 0 })
                    ? "no entry has x > 0, which a log x axis needs; drop --log-x"
                    : "no entry has a finite positive loss, which a log loss axis needs; use --linear-y"
                throw .nothingToDraw(run.fileName, reason: why)
            }
            series.append(s)
        }
        let svg = draw(runs, series, growths, options)
        return RenderedPlot(svg: svg, growths: growths, points: series.map(\.x.count))
    }

    /// The x value of every history entry.
    static func xValues(_ run: PlotRun, _ growths: [GrowthPoint], _ quantity: XQuantity) -> [Double] {
        switch quantity {
        case .tokens: return run.history.tokens.map(Double.init)
        case .steps: return run.history.step.map(Double.init)
        case .flops: return FlopsCurve.flops(history: run.history, config: run.config, growths: growths)
        }
    }

    static func axisTitle(_ quantity: XQuantity, _ scale: AxisScale) -> String {
        let base: String
        switch quantity {
        case .tokens: base = "tokens seen"
        case .flops: base = "training compute (FLOPs = 6 × parameters × tokens)"
        case .steps: base = "optimizer steps"
        }
        return scale == .log ? base + ", log scale" : base
    }

    static func tickLabel(_ value: Double, step: Double, _ quantity: XQuantity) -> String {
        switch quantity {
        case .tokens, .steps: return TickFormat.count(value, step: step)
        case .flops: return TickFormat.scientific(value, step: step)
        }
    }

    static func draw(_ runs: [PlotRun], _ series: [Series], _ growths: [[GrowthPoint]], _ options: PlotOptions) -> String {
        let w = options.width, h = options.height
        let x0 = margin.left, x1 = w - margin.right, y0 = margin.top, y1 = h - margin.bottom
        var (xlo, xhi) = Axis.domain(series.flatMap(\.x), scale: options.xScale, startAtZero: true, padding: 0)
        // 2% room on the right, so the last points and growth rings stay off the frame.
        xhi = options.xScale == .log ? xhi * pow(xhi / xlo, 0.02) : xhi + (xhi - xlo) * 0.02
        let (ylo, yhi) = Axis.domain(series.flatMap(\.y), scale: options.yScale, startAtZero: false, padding: 0.05)
        let xAxis = Axis(scale: options.xScale, lower: xlo, upper: xhi, from: x0, to: x1)
        let yAxis = Axis(scale: options.yScale, lower: ylo, upper: yhi, from: y1, to: y0)
        let n = SVGWriter.number, esc = SVGWriter.escape
        let ink = "#333", gridGrey = "#e4e4e4", boxGrey = "#bbb", markGrey = "#555"

        var svg = SVGWriter()
        svg.line(#"<?xml version="1.0" encoding="UTF-8"?>"#)
        svg.line(#"<svg xmlns="http://www.w3.org/2000/svg" width="\#(n(w))" height="\#(n(h))" viewBox="0 0 \#(n(w)) \#(n(h))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#)
        svg.line("<title>\(esc(options.title))</title>")
        svg.line(#"<defs><clipPath id="plot-area"><rect x="\#(n(x0))" y="\#(n(y0))" width="\#(n(x1 - x0))" height="\#(n(y1 - y0))"/></clipPath></defs>"#)
        svg.line(#"<rect width="100%" height="100%" fill="white"/>"#)
        svg.line(#"<text class="title" x="\#(n(w / 2))" y="\#(n(y0 - 18))" text-anchor="middle" font-size="16" font-weight="bold">\#(esc(options.title))</text>"#)

        // Ticks, grid and axis titles.
        let xTicks = options.xScale == .log ? Ticks.log(xlo, xhi, target: 7) : Ticks.linear(xlo, xhi, target: 7)
        let yTicks = options.yScale == .log ? Ticks.log(ylo, yhi) : Ticks.linear(ylo, yhi)
        svg.line(#"<g class="x-axis" font-size="11" fill="\#(ink)">"#)
        for v in xTicks.values {
            let px = xAxis.pixel(v)
            svg.line(#"<line class="grid" x1="\#(n(px))" y1="\#(n(y0))" x2="\#(n(px))" y2="\#(n(y1))" stroke="\#(gridGrey)"/>"#)
            svg.line(#"<line x1="\#(n(px))" y1="\#(n(y1))" x2="\#(n(px))" y2="\#(n(y1 + 5))" stroke="\#(ink)"/>"#)
            svg.line(#"<text class="tick" x="\#(n(px))" y="\#(n(y1 + 18))" text-anchor="middle">\#(esc(tickLabel(v, step: xTicks.step, options.x)))</text>"#)
        }
        svg.line(#"<text class="axis-label" x="\#(n((x0 + x1) / 2))" y="\#(n(y1 + 42))" text-anchor="middle" font-size="13">\#(esc(axisTitle(options.x, options.xScale)))</text>"#)
        svg.line("</g>")
        svg.line(#"<g class="y-axis" font-size="11" fill="\#(ink)">"#)
        for v in yTicks.values {
            let py = yAxis.pixel(v)
            svg.line(#"<line class="grid" x1="\#(n(x0))" y1="\#(n(py))" x2="\#(n(x1))" y2="\#(n(py))" stroke="\#(gridGrey)"/>"#)
            svg.line(#"<line x1="\#(n(x0 - 5))" y1="\#(n(py))" x2="\#(n(x0))" y2="\#(n(py))" stroke="\#(ink)"/>"#)
            svg.line(#"<text class="tick" x="\#(n(x0 - 8))" y="\#(n(py + 4))" text-anchor="end">\#(esc(TickFormat.plain(v, step: yTicks.step)))</text>"#)
        }
        let yTitle = options.yScale == .log ? "training loss (nats per token, log scale)" : "training loss (nats per token)"
        svg.line(#"<text class="axis-label" x="18" y="\#(n((y0 + y1) / 2))" text-anchor="middle" font-size="13" transform="rotate(-90 18 \#(n((y0 + y1) / 2)))">\#(esc(yTitle))</text>"#)
        svg.line("</g>")
        svg.line(#"<rect class="frame" x="\#(n(x0))" y="\#(n(y0))" width="\#(n(x1 - x0))" height="\#(n(y1 - y0))" fill="none" stroke="\#(ink)"/>"#)

        // Curves, later runs on top.
        svg.line(#"<g class="runs" clip-path="url(#plot-area)" fill="none" stroke-linejoin="round" stroke-linecap="round">"#)
        for (i, s) in series.enumerated() {
            var d = ""
            d.reserveCapacity(s.x.count * 18)
            for k in s.x.indices {
                // A new subpath where x goes back (the step after a restarted schedule), so no
                // line is drawn back across the plot.
                let move = k == 0 || s.x[k] < s.x[k - 1]
                d += (k == 0 ? "M" : move ? " M" : " L") + n(xAxis.pixel(s.x[k])) + "," + n(yAxis.pixel(s.y[k]))
            }
            let dash = Palette.dash(i).map { #" stroke-dasharray="\#($0)""# } ?? ""
            // Earlier runs wider, so a curve drawn over another (a grown run over its source's
            // shared history) leaves the one below visible at its edges.
            let width = 1.6 + 2.4 * Double(series.count - 1 - i) / Double(max(series.count - 1, 1))
            svg.line(#"<path class="run" id="run-\#(i)" data-label="\#(esc(runs[i].label))" stroke="\#(Palette.colour(i))" stroke-width="\#(n(width))"\#(dash) d="\#(d)"/>"#)
            if s.x.count == 1 {  // a single entry: a dot, since a one-point path draws nothing
                svg.line(#"<circle class="single" cx="\#(n(xAxis.pixel(s.x[0])))" cy="\#(n(yAxis.pixel(s.y[0])))" r="3" fill="\#(Palette.colour(i))"/>"#)
            }
        }
        svg.line("</g>")

        // Growth marks.
        var labelBoxes: [(x: Double, y0: Double, y1: Double)] = []
        var usedX: [Double] = []
        for (i, points) in growths.enumerated() {
            let s = series[i]
            for point in points {
                guard let k = s.entry.firstIndex(of: point.historyIndex) ?? s.entry.lastIndex(where: { $0 < point.historyIndex }) else { continue }
                let px = xAxis.pixel(s.x[k]), py = yAxis.pixel(s.y[k])
                let colour = Palette.colour(i)
                let size = 11.0
                // Long operator lists are cut to the plot's height (the whole list is in `title`).
                var label = point.label
                let room = y1 - y0 - 12
                while SVGWriter.textWidth(label, size: size) > room && label.count > 2 { label = String(label.dropLast(2)) + "…" }
                let length = SVGWriter.textWidth(label, size: size)
                // Label along the line, at the end away from the curve; right of the line when
                // another growth label already sits just left of it.
                let atBottom = py < (y0 + y1) / 2
                let right = usedX.contains { abs($0 - px) < 16 } || px - 16 < x0
                let tx = right ? px + 13 : px - 5
                let ty = atBottom ? y1 - 6 : y0 + 6
                let anchor = atBottom ? "start" : "end"
                usedX.append(px)
                labelBoxes.append((tx - 12, atBottom ? ty - length : ty, atBottom ? ty : ty + length))
                svg.line(#"<g class="growth" data-run="\#(i)" data-entry="\#(point.historyIndex)" data-method="\#(point.method.rawValue)">"#)
                svg.line(#"<line x1="\#(n(px))" y1="\#(n(y0))" x2="\#(n(px))" y2="\#(n(y1))" stroke="\#(colour)" stroke-width="1.2" stroke-dasharray="5 4"/>"#)
                svg.line(#"<circle class="growth-point" cx="\#(n(px))" cy="\#(n(py))" r="4.5" fill="white" stroke="\#(colour)" stroke-width="2"/>"#)
                svg.line("<title>\(esc(point.label))</title>")
                svg.line(#"<text x="\#(n(tx))" y="\#(n(ty))" text-anchor="\#(anchor)" font-size="\#(n(size))" fill="\#(colour)" transform="rotate(-90 \#(n(tx)) \#(n(ty)))">\#(esc(label))</text>"#)
                svg.line("</g>")
            }
        }

        // Legend: one row per run, then the growth mark, in the corner with the fewest points and labels.
        let rows = runs.map(\.label) + (growths.contains { !$0.isEmpty } ? ["growth (provenance)"] : [])
        let rowHeight = 18.0, size = 12.0
        let boxWidth = 44 + (rows.map { SVGWriter.textWidth($0, size: size) }.max() ?? 0)
        let boxHeight = 8 + rowHeight * Double(rows.count)
        let inset = 10.0
        let corners = [(x1 - inset - boxWidth, y0 + inset), (x1 - inset - boxWidth, y1 - inset - boxHeight),
                       (x0 + inset, y1 - inset - boxHeight), (x0 + inset, y0 + inset)]
        func crowding(_ c: (Double, Double)) -> Int {
            let (bx, by) = c
            var count = 0
            func inside(_ px: Double, _ py: Double) -> Bool {
                px >= bx - 4 && px <= bx + boxWidth + 4 && py >= by - 4 && py <= by + boxHeight + 4
            }
            for s in series {
                // Points and the segments between them (sampled every few pixels).
                var previous: (Double, Double)?
                for k in s.x.indices {
                    let p = (xAxis.pixel(s.x[k]), yAxis.pixel(s.y[k]))
                    if inside(p.0, p.1) { count += 1 }
                    if let q = previous {
                        let samples = min(64, Int(max(abs(p.0 - q.0), abs(p.1 - q.1)) / 4))
                        for j in stride(from: 1, to: samples, by: 1) {
                            let t = Double(j) / Double(samples)
                            if inside(q.0 + t * (p.0 - q.0), q.1 + t * (p.1 - q.1)) { count += 1 }
                        }
                    }
                    previous = p
                }
            }
            for b in labelBoxes where b.x + 14 >= bx && b.x <= bx + boxWidth && b.y1 >= by && b.y0 <= by + boxHeight {
                count += 1000
            }
            return count
        }
        let (lx, ly) = corners.min { crowding($0) < crowding($1) }!  // stable: ties keep the earlier corner
        svg.line(#"<g class="legend" font-size="\#(n(size))">"#)
        svg.line(#"<rect x="\#(n(lx))" y="\#(n(ly))" width="\#(n(boxWidth))" height="\#(n(boxHeight))" fill="white" fill-opacity="0.9" stroke="\#(boxGrey)"/>"#)
        for (r, label) in rows.enumerated() {
            let cy = ly + 4 + rowHeight * (Double(r) + 0.5)
            if r < runs.count {
                let dash = Palette.dash(r).map { #" stroke-dasharray="\#($0)""# } ?? ""
                svg.line(#"<line x1="\#(n(lx + 8))" y1="\#(n(cy))" x2="\#(n(lx + 32))" y2="\#(n(cy))" stroke="\#(Palette.colour(r))" stroke-width="2.5"\#(dash)/>"#)
            } else {
                svg.line(#"<line x1="\#(n(lx + 20))" y1="\#(n(cy - 7))" x2="\#(n(lx + 20))" y2="\#(n(cy + 7))" stroke="\#(markGrey)" stroke-width="1.2" stroke-dasharray="3 2"/>"#)
                svg.line(#"<circle cx="\#(n(lx + 20))" cy="\#(n(cy))" r="4" fill="white" stroke="\#(markGrey)" stroke-width="1.6"/>"#)
            }
            svg.line(#"<text class="legend-label" x="\#(n(lx + 38))" y="\#(n(cy + 4))">\#(esc(label))</text>"#)
        }
        svg.line("</g>")
        svg.line("</svg>")
        return svg.text
    }
}
