import Foundation
import Training

/// The training progress line: a bar on a terminal (redrawn in place on
/// standard error), one line per epoch otherwise (logs, CI).
final class ProgressBar: @unchecked Sendable {
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var lastEpochPrinted = 0

    func update(_ progress: TrainingProgress) {
        lock.lock()
        defer { lock.unlock() }
        let fraction = progress.totalSteps > 0 ? Double(progress.step) / Double(progress.totalSteps) : 0
        let epochDone = progress.event == .epochEnd && progress.epoch > lastEpochPrinted
        if isTerminal {
            guard epochDone || Date().timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = Date()
            let width = 24
            let filled = Int((fraction * Double(width)).rounded(.down))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            write("\r\u{1B}[2K" + line(progress, bar: bar))
            if epochDone {
                lastEpochPrinted = progress.epoch
            }
        } else if epochDone {
            lastEpochPrinted = progress.epoch
            write(line(progress, bar: nil) + "\n")
        }
    }

    /// Ends the bar's line.
    func finish() {
        if isTerminal { write("\n") }
    }

    private func line(_ progress: TrainingProgress, bar: String?) -> String {
        var parts = ["epoch \(progress.epoch)/\(progress.epochs)"]
        if let bar { parts.append(bar) }
        parts.append(String(format: "loss %.3f", progress.loss))
        if let accuracy = progress.validationAccuracy { parts.append(String(format: "val acc %.1f%%", accuracy * 100)) }
        if let metric = progress.validationMetric { parts.append(String(format: "val macro-F1 %.1f%%", metric * 100)) }
        if progress.step > 0 && progress.step < progress.totalSteps { parts.append("ETA \(Self.duration(progress.etaSeconds))") }
        return parts.joined(separator: "  ")
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 60 ? "\(total / 60)m\(String(format: "%02d", total % 60))s" : "\(total)s"
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
