/// A WordPiece vocabulary: one token per line, `##` marking a piece that
/// continues a word (the format BERT and Hugging Face `tokenizers` read).
///
/// The first five tokens are the specials `[PAD] [UNK] [CLS] [SEP] [MASK]`,
/// so their ids are 0…4 in every vocabulary Concierge builds.
public struct Vocabulary: Sendable {
    public static let specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    public static let continuationPrefix = "##"

    /// Tokens by id.
    public let tokens: [String]
    public let padID: Int32
    public let unknownID: Int32
    public let classID: Int32
    public let separatorID: Int32
    public let maskID: Int32
    /// A stable hash of the token list (FNV-1a 64 over the file bytes, as hex).
    /// Checkpoints record it so a model is never run with another vocabulary.
    public let hash: String
    let trie: TokenTrie
    private let idsByToken: [String: Int32]

    /// Errors reading a vocabulary.
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case missingSpecialToken(String)
        case duplicateToken(String, line: Int)
        case emptyToken(line: Int)

        public var description: String {
            switch self {
            case .missingSpecialToken(let token): "vocabulary has no \(token) token"
            case .duplicateToken(let token, let line): "vocabulary line \(line): duplicate token \"\(token)\""
            case .emptyToken(let line): "vocabulary line \(line): empty token"
            }
        }
    }

    /// Builds a vocabulary from tokens in id order.
    public init(tokens: [String]) throws {
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (index, token) in tokens.enumerated() {
            if token.isEmpty { throw Error.emptyToken(line: index + 1) }
            if ids[token] != nil { throw Error.duplicateToken(token, line: index + 1) }
            ids[token] = Int32(index)
        }
        func special(_ token: String) throws -> Int32 {
            guard let id = ids[token] else { throw Error.missingSpecialToken(token) }
            return id
        }
        self.tokens = tokens
        self.idsByToken = ids
        padID = try special("[PAD]")
        unknownID = try special("[UNK]")
        classID = try special("[CLS]")
        separatorID = try special("[SEP]")
        maskID = try special("[MASK]")
        hash = Self.fnv1a(Self.fileContents(tokens))
        trie = TokenTrie(tokens: tokens, continuationPrefix: Self.continuationPrefix)
    }

    /// Parses the text of a vocabulary file (one token per line).
    public init(fileContents: String) throws {
        var lines = fileContents.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        if lines.last == "" { lines.removeLast() }
        try self.init(tokens: lines)
    }

    /// The text of the vocabulary file: one token per line, newline-terminated.
    public static func fileContents(_ tokens: [String]) -> String {
        tokens.map { $0 + "\n" }.joined()
    }

    public var count: Int { tokens.count }

    /// The id of `token`, if it is in the vocabulary.
    public func id(of token: String) -> Int32? { idsByToken[token] }

    /// The token with `id`, or `[UNK]` for an id out of range.
    public func token(for id: Int32) -> String {
        id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : "[UNK]"
    }

    static func fnv1a(_ text: String) -> String {
        StableHash.hex(StableHash.fnv1a(text.utf8))
    }
}

/// A trie over the UTF-16 units of the vocabulary, with two roots: one for
/// word-initial tokens and one for continuation pieces (`##` stripped). It
/// answers "longest token starting here" in one step per code unit.
///
/// Children live in one open-addressing hash table keyed by (node, unit).
struct TokenTrie: Sendable {
    static let initialRoot: Int32 = 0
    static let continuationRoot: Int32 = 1

    /// Token id ending at each node, or -1.
    private(set) var tokenAtNode: [Int32] = [-1, -1]
    private var keys: [UInt64]
    private var children: [Int32]
    private var mask: Int

    init(tokens: [String], continuationPrefix: String) {
        let unitCount = tokens.reduce(0) { $0 + $1.utf16.count }
        var capacity = 16
        while capacity < 2 * (unitCount + 2) { capacity <<= 1 }
        keys = [UInt64](repeating: .max, count: capacity)
        children = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        for (id, token) in tokens.enumerated() {
            var node = Self.initialRoot
            var body = Substring(token)
            if token.hasPrefix(continuationPrefix) && token.count > continuationPrefix.count {
                node = Self.continuationRoot
                body = body.dropFirst(continuationPrefix.count)
            }
            for unit in body.utf16 {
                node = insertChild(of: node, unit: unit)
            }
            if tokenAtNode[Int(node)] < 0 { tokenAtNode[Int(node)] = Int32(id) }
        }
    }

    @inline(__always)
    private static func key(_ node: Int32, _ unit: UInt16) -> UInt64 {
        UInt64(UInt32(bitPattern: node)) << 16 | UInt64(unit)
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    private mutating func insertChild(of node: Int32, unit: UInt16) -> Int32 {
        let key = Self.key(node, unit)
        var slot = Self.slot(key, mask)
        while keys[slot] != .max {
            if keys[slot] == key { return children[slot] }
            slot = (slot + 1) & mask
        }
        let child = Int32(tokenAtNode.count)
        tokenAtNode.append(-1)
        keys[slot] = key
        children[slot] = child
        return child
    }

    /// The child of `node` along `unit`, or -1.
    @inline(__always)
    func child(of node: Int32, unit: UInt16) -> Int32 {
        let key = Self.key(node, unit)
        return keys.withUnsafeBufferPointer { keys in
            var slot = Self.slot(key, mask)
            while true {
                let stored = keys[slot]
                if stored == key { return children[slot] }
                if stored == .max { return -1 }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The longest token in `units[start..<end]` beginning at `start`, from
    /// `root`: its id and end, or nil when none matches.
    @inline(__always)
    func longestMatch(_ units: UnsafeBufferPointer<UInt16>, from start: Int, to end: Int, root: Int32) -> (id: Int32, end: Int)? {
        var node = root
        var best: (id: Int32, end: Int)? = nil
        var position = start
        while position < end {
            node = child(of: node, unit: units[position])
            if node < 0 { break }
            position += 1
            let id = tokenAtNode[Int(node)]
            // Never end a match between the two halves of a surrogate pair.
            if id >= 0 && !(position < end && UTF16.isTrailSurrogate(units[position])) {
                best = (id, position)
            }
        }
        return best
    }
}
