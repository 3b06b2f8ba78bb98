import Foundation
import Tokenizer

extension DataPackLoader {
    /// A fingerprint of every YAML file of the pack: their paths relative to
    /// `directory` and their bytes, in path order, hashed (FNV-1a 64, mixed).
    ///
    /// Any edit to any example, FAQ or community fact changes it, and nothing
    /// else does (file dates, other files): it keys the cached trained model,
    /// so a model is retrained exactly when the data it learned from changed.
    /// `safety.yaml` is left out: a model that reads the safety rules as
    /// features adds the rules' own fingerprint (their phrases, not the file's
    /// comments or layout) to its key instead.
    public static func fingerprint(directory: URL) throws -> String {
        let root = directory.standardizedFileURL.resolvingSymlinksInPath()
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: directory.path])
        }
        var files: [(relative: String, url: URL)] = []
        for case let url as URL in enumerator where ["yaml", "yml"].contains(url.pathExtension.lowercased()) {
            let resolved = url.standardizedFileURL.resolvingSymlinksInPath()
            let relative = String(resolved.path.dropFirst(root.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            if relative == "safety.yaml" { continue }
            files.append((relative, resolved))
        }
        var state = StableHash.offsetBasis
        for file in files.sorted(by: { $0.relative < $1.relative }) {
            state = StableHash.fnv1a(file.relative.utf8, state: state)
            state = StableHash.fnv1a([0], state: state)
            state = StableHash.fnv1a(try Data(contentsOf: file.url), state: state)
            state = StableHash.fnv1a([0], state: state)
        }
        return StableHash.hex(StableHash.mix(state))
    }
}
