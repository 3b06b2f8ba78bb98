// TEMPORARY until the store branch lands (it brings Store.ConciergeHome and HomeOptions).
import ArgumentParser
import Foundation

struct ConciergeHome {
    var root: URL
    var modelsDirectory: URL { root.appendingPathComponent("models", isDirectory: true) }
    func prepare() throws { try FileManager.default.createDirectory(at: modelsDirectory, withIntermediateDirectories: true) }
}

struct HomeOptions: ParsableArguments {
    @Option(name: .customLong("home"), help: "The Concierge data directory (default: $CONCIERGE_HOME, else ~/.concierge).")
    var path: String?
    var home: ConciergeHome {
        let env = ProcessInfo.processInfo.environment
        let path = path ?? env["CONCIERGE_HOME"] ?? (NSHomeDirectory() + "/.concierge")
        return ConciergeHome(root: URL(fileURLWithPath: path, isDirectory: true))
    }
}
