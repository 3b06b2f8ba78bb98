import Foundation

/// A stacked bar chart laid out for server-rendered SVG: the template draws
/// exactly these rectangles and texts (every value escaped, no script, no
/// inline style, so the page's CSP holds). The view box is 360 × 220 and the
/// SVG scales to its container, so it reads at 390 px wide.
struct SVGBarChart: Sendable {
    /// The chart's `<title>` and the sentence under it.
    var title: String
    var summary: String
    var bars: [Bar] = []
    var xLabels: [Label] = []
    var gridLines: [GridLine] = []
    var legend: [LegendEntry] = []
    /// The table behind the chart: a header row and one row per group.
    var tableHeader: [String]
    var tableRows: [TableRow]
    /// A unique id for `aria-labelledby`.
    var id: String

    static let width = 360.0
    static let height = 220.0
    static let plot = (left: 34.0, right: 354.0, top: 12.0, bottom: 180.0)

    /// Colours that stay apart for the common colour-vision deficiencies
    /// (Okabe & Ito), the last one for "other".
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]

    struct Bar: Sendable {
        var x: String, y: String, width: String, height: String, fill: String
        /// The tooltip: group, series and value.
        var label: String
    }

    struct Label: Sendable { var x: String, y: String, text: String }
    struct TableRow: Sendable { var cells: [String] }
    struct GridLine: Sendable { var y: String, labelY: String, text: String }
    struct LegendEntry: Sendable { var fill: String, name: String }

    /// `groups` along the x axis (at most every few labelled, so they do not
    /// collide), each a stack of `series` values (same order as `series`).
    init(id: String, title: String, summary: String, groups: [String], series: [(name: String, values: [Int])],
         colours: [String]? = nil) {
        self.id = id
        self.title = title
        self.summary = summary
        tableHeader = [""] + series.map(\.name)
        tableRows = groups.indices.map { index in
            TableRow(cells: [groups[index]] + series.map { String($0.values[safe: index] ?? 0) })
        }
        let fills = colours ?? Self.palette
        legend = series.indices.map { LegendEntry(fill: fills[$0 % fills.count], name: series[$0].name) }
        let totals = groups.indices.map { index in series.reduce(0) { $0 + ($1.values[safe: index] ?? 0) } }
        let top = Self.niceMaximum(totals.max() ?? 0)
        let plot = Self.plot
        let slot = (plot.right - plot.left) / Double(max(groups.count, 1))
        let scale = (plot.bottom - plot.top) / Double(top)
        for (index, group) in groups.enumerated() {
            var base = plot.bottom
            for (which, serie) in series.enumerated() {
                let value = serie.values[safe: index] ?? 0
                guard value > 0 else { continue }
                let height = Double(value) * scale
                base -= height
                bars.append(Bar(x: Self.f(plot.left + Double(index) * slot + slot * 0.15), y: Self.f(base),
                                width: Self.f(slot * 0.7), height: Self.f(height), fill: fills[which % fills.count],
                                label: "\(group): \(serie.name) \(value)"))
            }
        }
        let every = max(1, Int((Double(groups.count) / 6).rounded(.up)))
        xLabels = groups.enumerated().filter { $0.offset % every == 0 }.map { index, group in
            Label(x: Self.f(plot.left + (Double(index) + 0.5) * slot), y: Self.f(plot.bottom + 14), text: group)
        }
        gridLines = [0, top / 2, top].map { value in
            let y = plot.bottom - Double(value) * scale
            return GridLine(y: Self.f(y), labelY: Self.f(y + 4), text: String(value))
        }
    }

    /// The smallest of 1, 2, 5 × 10ⁿ (and even, so half of it is whole) at or above `value`, at least 2.
    static func niceMaximum(_ value: Int) -> Int {
        var magnitude = 1
        while true {
            for step in [2, 4, 6, 10] where step * magnitude >= value { return step * magnitude }
            magnitude *= 10
        }
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
