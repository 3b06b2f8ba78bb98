import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Submitted lines, oldest first, capped, and their file.
///
/// The file holds one entry per line in UTF-8. It is written whole to a
/// temporary file created with mode 0600 and renamed over the old one, so it
/// is never readable by other users (residents' messages are personal) and
/// never half-written.
struct LineHistory {
    /// The most entries kept; older ones are dropped.
    let maxEntries: Int
    /// The entries, oldest first.
    private(set) var entries: [String]

    init(maxEntries: Int, entries: [String] = []) {
        self.maxEntries = max(0, maxEntries)
        self.entries = Array(entries.suffix(self.maxEntries))
    }

    /// Adds a submitted line unless it is blank or repeats the latest entry.
    /// Returns whether it was added.
    @discardableResult mutating func add(_ line: String) -> Bool {
        guard maxEntries > 0 else { return false }
        // A line break would split the entry in the file.
        let entry = String(line.map { $0.isNewline ? " " : $0 })
        guard !entry.allSatisfy(\.isWhitespace), entry != entries.last else { return false }
        entries.append(entry)
        if entries.count > maxEntries { entries.removeFirst(entries.count - maxEntries) }
        return true
    }

    /// The history stored in `file`, or an empty one when the file is missing or unreadable.
    static func load(from file: URL, maxEntries: Int) -> LineHistory {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            return LineHistory(maxEntries: maxEntries)
        }
        let lines = String(decoding: data, as: UTF8.self)
            .split(whereSeparator: \.isNewline)
            .map(String.init)
            .filter { !$0.allSatisfy(\.isWhitespace) }
        return LineHistory(maxEntries: maxEntries, entries: lines)
    }

    /// Writes the entries to `file` (mode 0600), creating its folder (mode 0700) if needed.
    func save(to file: URL) throws(HistoryFileError) {
        let folder = file.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: folder.path) {
            do {
                try FileManager.default.createDirectory(
                    at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw HistoryFileError(path: folder.path, reason: "cannot create folder: \(error.localizedDescription)")
            }
        }
        let temporaryPath = folder.appendingPathComponent(".\(file.lastPathComponent).\(getpid()).tmp").path
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw HistoryFileError(path: temporaryPath, operation: "create", code: errno) }
        // The umask can only take permissions away, but an existing stale file keeps its mode: set it.
        guard fchmod(descriptor, 0o600) == 0 else {
            let code = errno
            close(descriptor)
            unlink(temporaryPath)
            throw HistoryFileError(path: temporaryPath, operation: "chmod", code: code)
        }
        let contents = Array(entries.map { $0 + "\n" }.joined().utf8)
        var written = 0
        while written < contents.count {
            let result = contents[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if result < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(descriptor)
                unlink(temporaryPath)
                throw HistoryFileError(path: temporaryPath, operation: "write", code: code)
            }
            written += result
        }
        close(descriptor)
        guard rename(temporaryPath, file.path) == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw HistoryFileError(path: file.path, operation: "rename", code: code)
        }
    }
}

/// A history file could not be written.
public struct HistoryFileError: Error, CustomStringConvertible, Sendable {
    /// The file or folder involved.
    public let path: String
    /// What went wrong.
    public let reason: String

    init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    init(path: String, operation: String, code: Int32) {
        self.init(path: path, reason: "cannot \(operation): \(String(cString: strerror(code)))")
    }

    public var description: String { "history file \(path): \(reason)" }
}
