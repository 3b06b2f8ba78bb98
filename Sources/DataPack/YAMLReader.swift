import Yams

/// Reads one YAML file into typed values, collecting diagnostics with
/// file:line:column instead of stopping at the first problem. The data pack
/// reads its files with it, and the server its configuration file.
public final class YAMLReader {
    public let file: String
    public private(set) var diagnostics: [Diagnostic] = []

    public init(file: String) { self.file = file }

    func location(_ node: Node?) -> SourceLocation {
        SourceLocation(file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1)
    }

    /// Records an error at `node`'s line and column.
    public func error(_ node: Node?, _ message: String) {
        diagnostics.append(Diagnostic(.error, location(node), message))
    }

    func warning(_ node: Node?, _ message: String) {
        diagnostics.append(Diagnostic(.warning, location(node), message))
    }

    /// Parses `text`; a syntax error becomes a diagnostic at its line.
    public func parse(_ text: String) -> Node? {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                error(nil, "the file is empty")
                return nil
            }
            return node
        } catch let yamlError as YamlError {
            let (mark, problem): (Mark?, String) = switch yamlError {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                (mark, problem)
            case .duplicatedKeysInMapping(let duplicates, let context):
                (context.mark, "duplicate key(s) " + duplicates.joined(separator: ", "))
            default:
                (nil, "\(yamlError)")
            }
            diagnostics.append(Diagnostic(.error, SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1),
                                          "YAML syntax: \(problem)"))
            return nil
        } catch {
            diagnostics.append(Diagnostic(.error, SourceLocation(file: file, line: 1), "cannot read YAML: \(error)"))
            return nil
        }
    }

    /// The mapping `node` as (key, value) pairs, reporting keys not in `allowed`
    /// and required keys that are missing.
    public func mapping(_ node: Node?, what: String, allowed: Set<String>? = nil, required: [String] = []) -> [String: Node]? {
        guard let node else { return nil }
        guard case .mapping(let mapping) = node else {
            error(node, "\(what) must be a mapping (key: value lines)")
            return nil
        }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else {
                error(keyNode, "\(what): keys must be plain words")
                continue
            }
            if let allowed, !allowed.contains(key.string) {
                error(keyNode, "\(what): unknown key \"\(key.string)\" (expected one of: \(allowed.sorted().joined(separator: ", ")))")
                continue
            }
            result[key.string] = value
        }
        for key in required where result[key] == nil {
            error(node, "\(what): missing required key \"\(key)\"")
        }
        return result
    }

    /// A non-empty text value, or nil (with an error when `node` is something else).
    public func string(_ node: Node?, what: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            error(node, "\(what) must be a single text value")
            return nil
        }
        if scalar.string.trimmingWhitespace().isEmpty {
            error(node, "\(what) is empty")
            return nil
        }
        return scalar.string
    }

    /// A whole number within `range`, or nil (with an error when it is not one).
    public func integer(_ node: Node?, what: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, what: what) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            error(node, "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
            return nil
        }
        return value
    }

    /// A number within `range`, or nil (with an error when it is not one).
    public func number(_ node: Node?, what: String, in range: ClosedRange<Double>) -> Double? {
        guard let text = string(node, what: what) else { return nil }
        guard let value = Double(text), range.contains(value) else {
            error(node, "\(what) must be a number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
            return nil
        }
        return value
    }

    /// `true`/`false` (also yes/no, on/off), or nil (with an error when it is neither).
    public func boolean(_ node: Node?, what: String) -> Bool? {
        guard let text = string(node, what: what) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            error(node, "\(what) must be true or false, not \"\(text)\"")
            return nil
        }
    }

    public func sequence(_ node: Node?, what: String) -> [Node]? {
        guard let node else { return nil }
        guard case .sequence(let sequence) = node else {
            error(node, "\(what) must be a list")
            return nil
        }
        return Array(sequence)
    }

    func priority(_ node: Node?, what: String) -> Priority? {
        guard let text = string(node, what: what) else { return nil }
        guard let priority = Priority(rawValue: text.uppercased()) else {
            error(node, "\(what): priority \"\(text)\" is not one of P1, P2, P3, P4")
            return nil
        }
        return priority
    }

    /// `{en: …, zh: …}`, reporting a missing or unknown language.
    func translations(_ node: Node?, what: String, required: [Language] = Language.allCases) -> Translations? {
        guard let fields = mapping(node, what: what, allowed: Set(Language.allCases.map(\.rawValue))) else { return nil }
        var result: Translations = [:]
        for language in Language.allCases {
            if let value = string(fields[language.rawValue], what: "\(what).\(language.rawValue)") {
                result[language] = value
            }
        }
        for language in required where fields[language.rawValue] == nil {
            error(node, "\(what): missing translation \"\(language.rawValue)\"")
        }
        return result
    }

    /// Example lists by language: `{en: [...], zh: [...]}`. Items are text, or
    /// `{text: …, priority: …}` when `allowPriority`.
    func examples(_ node: Node?, what: String, allowPriority: Bool) -> [Example] {
        guard let fields = mapping(node, what: what, allowed: Set(Language.allCases.map(\.rawValue))) else { return [] }
        var result: [Example] = []
        for language in Language.allCases {
            guard let listNode = fields[language.rawValue] else {
                error(node, "\(what): no \"\(language.rawValue)\" examples (every language needs its own list)")
                continue
            }
            guard let items = sequence(listNode, what: "\(what).\(language.rawValue)") else { continue }
            if items.isEmpty { error(listNode, "\(what).\(language.rawValue) is empty") }
            for item in items {
                switch item {
                case .scalar:
                    if let text = string(item, what: "an example") {
                        result.append(Example(text: text, language: language, priority: nil, location: location(item)))
                    }
                case .mapping:
                    let allowed: Set<String> = allowPriority ? ["text", "priority"] : ["text"]
                    guard let itemFields = mapping(item, what: "an example", allowed: allowed, required: ["text"]),
                          let text = string(itemFields["text"], what: "an example's text") else { continue }
                    let priority = itemFields["priority"].flatMap { self.priority($0, what: "an example") }
                    result.append(Example(text: text, language: language, priority: priority, location: location(item)))
                default:
                    error(item, "an example must be text, or text: with priority:")
                }
            }
        }
        return result
    }
}

extension String {
    func trimmingWhitespace() -> Substring {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return slice
    }
}
