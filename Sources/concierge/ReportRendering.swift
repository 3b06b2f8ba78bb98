import Domain
import Evaluation
import Foundation

/// Percent with one decimal: `92.4 %`.
func percent(_ value: Double) -> String {
    String(format: "%.1f %%", value * 100)
}

/// Terminal rendering of evaluation reports.
enum ReportRendering {
    /// The headline figures of a report, one per line.
    static func summary(_ title: String, _ report: ClassificationReport) -> String {
        var lines = ["\(title) (\(report.count) messages)"]
        lines.append("  accuracy                 \(percent(report.accuracy))")
        lines.append("  macro-F1                 \(percent(report.macroF1))")
        lines.append("  macro precision / recall \(percent(report.macroPrecision)) / \(percent(report.macroRecall))")
        if let oos = report.outOfScope {
            lines.append("  in-scope accuracy        \(percent(oos.inScopeAccuracy))  (\(oos.inScopeCount) in-scope messages)")
            lines.append("  out-of-scope recall      \(percent(oos.recall))  (\(oos.outOfScopeCount) out-of-scope messages)")
            lines.append("  out-of-scope precision   \(percent(oos.precision))")
        }
        lines.append("  calibration error (ECE)  \(String(format: "%.3f", report.expectedCalibrationError))  (\(report.calibrationBins) bins)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Per-class precision, recall, F1 and support.
    static func perClass(_ report: ClassificationReport) -> String {
        let table = TextTable(columns: ["class", "precision", "recall", "F1", "support"])
        for metrics in report.classes {
            table.add([metrics.label, percent(metrics.precision), percent(metrics.recall), percent(metrics.f1), String(metrics.support)])
        }
        return table.render()
    }

    /// The most frequent confusions.
    static func confusions(_ report: ClassificationReport) -> String {
        guard !report.topConfusions.isEmpty else { return "no confusions\n" }
        let table = TextTable(columns: ["gold", "predicted as", "count"])
        for confusion in report.topConfusions {
            table.add([confusion.gold, confusion.predicted, String(confusion.count)])
        }
        return table.render()
    }
}

/// Writes `value` as pretty, key-sorted JSON to standard output, its keys
/// snake_case (``SnakeCaseKeys``) like everything Concierge prints or serves.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = SnakeCaseKeys.encodingStrategy
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// The snake_case form of a key (``SnakeCaseKeys/convert(_:)``).
func snakeCaseKey(_ key: String) -> String { SnakeCaseKeys.convert(key) }
