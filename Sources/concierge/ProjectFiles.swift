import Foundation

/// Where Concierge finds the files that ship with it: the data pack
/// (`intents/`) and the tokenizer vocabulary (`vocab/vocab.txt`).
///
/// Looked up, in order: an explicit path given on the command line; the
/// `CONCIERGE_PACKAGE_DIR` environment variable; the current directory and its
/// parents; the directory of the executable and its parents (so
/// `.build/release/concierge` finds the checkout it was built in).
struct ProjectFiles {
    var root: URL

    var intentsDirectory: URL { root.appendingPathComponent("intents", isDirectory: true) }
    var vocabularyFile: URL { root.appendingPathComponent("vocab/vocab.txt") }

    static func locate() throws -> ProjectFiles {
        let fileManager = FileManager.default
        var candidates: [URL] = []
        if let explicit = ProcessInfo.processInfo.environment["CONCIERGE_PACKAGE_DIR"] {
            candidates.append(URL(fileURLWithPath: explicit, isDirectory: true))
        }
        func ancestors(of url: URL) -> [URL] {
            var result: [URL] = []
            var current = url.standardizedFileURL
            for _ in 0..<12 {
                result.append(current)
                let parent = current.deletingLastPathComponent()
                if parent.path == current.path { break }
                current = parent
            }
            return result
        }
        candidates += ancestors(of: URL(fileURLWithPath: fileManager.currentDirectoryPath, isDirectory: true))
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates += ancestors(of: executable.deletingLastPathComponent())
        for candidate in candidates {
            let intents = candidate.appendingPathComponent("intents", isDirectory: true)
            let vocab = candidate.appendingPathComponent("vocab", isDirectory: true)
            var isDirectory: ObjCBool = false
            if fileManager.fileExists(atPath: intents.path, isDirectory: &isDirectory), isDirectory.boolValue,
               fileManager.fileExists(atPath: vocab.path, isDirectory: &isDirectory), isDirectory.boolValue {
                return ProjectFiles(root: candidate)
            }
        }
        throw CLIError("could not find the Concierge files (intents/ and vocab/). Run from the checkout, or set CONCIERGE_PACKAGE_DIR.")
    }
}

/// An error the CLI reports as one line, then exits non-zero.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
