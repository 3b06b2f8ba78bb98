/// A plain-text table with aligned columns; wide (CJK) characters count as two
/// columns so Chinese text lines up in a terminal.
final class TextTable {
    private let columns: [String]
    private var rows: [[String]] = []

    init(columns: [String]) { self.columns = columns }

    func add(_ row: [String]) { rows.append(row) }

    /// Display width of `text` in a terminal.
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { width, scalar in
            let value = scalar.value
            if value < 0x20 || (0x300...0x36F).contains(value) || value == 0x200D || (0xFE00...0xFE0F).contains(value) { return width }
            let wide = (0x1100...0x115F).contains(value) || (0x2E80...0xA4CF).contains(value)
                || (0xAC00...0xD7A3).contains(value) || (0xF900...0xFAFF).contains(value)
                || (0xFE30...0xFE4F).contains(value) || (0xFF00...0xFF60).contains(value)
                || (0xFFE0...0xFFE6).contains(value) || (0x1F300...0x1FAFF).contains(value)
                || (0x20000...0x3FFFD).contains(value)
            return width + (wide ? 2 : 1)
        }
    }

    func render() -> String {
        let cleanRows = rows.map { $0.map { $0.replacingNewlines() } }
        var widths = columns.map(Self.displayWidth)
        for row in cleanRows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], Self.displayWidth(cell))
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - Self.displayWidth(cell))
            }.joined(separator: "  ") + "\n"
        }
        var output = line(columns)
        output += line(widths.map { String(repeating: "-", count: $0) })
        for row in cleanRows { output += line(row) }
        return output
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        var result = ""
        for character in self {
            switch character {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default: result.append(character)
            }
        }
        return result
    }
}
