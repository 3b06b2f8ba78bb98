import Foundation

/// The tokens of one message, ready for the encoder.
public struct Encoding: Sendable, Equatable {
    /// Token ids, starting with `[CLS]` and ending with `[SEP]`.
    public var ids: [Int32]
    /// 1 for a real token, 0 for padding.
    public var attentionMask: [UInt8]
    /// For every token, the range of UTF-16 code units in the ORIGINAL text it
    /// came from. Special tokens and padding have an empty range (at the start
    /// for `[CLS]`, at the end for `[SEP]` and padding).
    public var offsets: [Range<Int>]

    public var count: Int { ids.count }
}

/// Many messages encoded into one padded batch, row-major.
public struct BatchEncoding: Sendable, Equatable {
    /// Number of messages.
    public var batchSize: Int
    /// Length of every row (the longest message, capped at `maxLength`).
    public var sequenceLength: Int
    /// `batchSize × sequenceLength` token ids; padding is `[PAD]`.
    public var ids: [Int32]
    /// `batchSize × sequenceLength`: 1 for real tokens, 0 for padding.
    public var attentionMask: [UInt8]
    /// Number of real tokens in each row.
    public var lengths: [Int]
    /// Per message, per real token, the UTF-16 range in the original text.
    public var offsets: [[Range<Int>]]
}

/// Concierge's tokenizer: ICU normalization → ICU word segmentation →
/// WordPiece (greedy longest match, `##` continuation pieces).
///
/// WordPiece details:
/// - Latin-script words, numbers, links and emoji: greedy longest match from
///   the start of the word, then `##` pieces. A character that no token covers
///   becomes one `[UNK]` and matching continues after it, so one odd character
///   never hides a whole word.
/// - Chinese words: the whole dictionary word when the vocabulary has it,
///   otherwise the longest vocabulary words inside it, falling back to single
///   characters (no `##` for Chinese), so Chinese text never becomes `[UNK]`
///   wholesale.
/// - A word longer than `maxCharactersPerWord` UTF-16 units is one `[UNK]`.
///
/// Thread-safe: each call borrows an ICU segmenter and scratch buffers from a
/// small pool, so one tokenizer can serve all threads.
public final class WordPieceTokenizer: @unchecked Sendable {
    public let vocabulary: Vocabulary
    public let maxCharactersPerWord: Int

    private let lock = NSLock()
    private var pool: [Workspace] = []

    /// Reusable per-thread state: the ICU iterator and scratch buffers.
    final class Workspace {
        let segmenter = WordSegmenter()
        var normalized = NormalizedText(units: [], originStart: [], originEnd: [])
        var words: [Word] = []
        var source: [UInt16] = []
    }

    public init(vocabulary: Vocabulary, maxCharactersPerWord: Int = 100) {
        self.vocabulary = vocabulary
        self.maxCharactersPerWord = maxCharactersPerWord
    }

    /// Loads `vocab.txt` (one token per line).
    public convenience init(vocabularyFile url: URL) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        try self.init(vocabulary: Vocabulary(fileContents: text))
    }

    private func withWorkspace<T>(_ body: (Workspace) -> T) -> T {
        lock.lock()
        let workspace = pool.popLast() ?? Workspace()
        lock.unlock()
        defer {
            lock.lock()
            pool.append(workspace)
            lock.unlock()
        }
        return body(workspace)
    }

    /// Encodes one message: `[CLS] tokens… [SEP]`, truncated to `maxLength`
    /// tokens (specials included; at least 2), without padding.
    public func encode(_ text: String, maxLength: Int = 64) -> Encoding {
        let limit = max(2, maxLength)
        var ids: [Int32] = [vocabulary.classID]
        var offsets: [Range<Int>] = [0..<0]
        withWorkspace { workspace in
            workspace.source.removeAll(keepingCapacity: true)
            workspace.source.append(contentsOf: text.utf16)
            tokenize(workspace: workspace, limit: limit - 2) { id, range in
                ids.append(id)
                offsets.append(range)
            }
        }
        let end = text.utf16.count
        ids.append(vocabulary.separatorID)
        offsets.append(end..<end)
        return Encoding(ids: ids, attentionMask: [UInt8](repeating: 1, count: ids.count), offsets: offsets)
    }

    /// Encodes raw bytes that should be UTF-8. Invalid sequences are repaired
    /// to U+FFFD (and then dropped by normalization); offsets refer to the
    /// repaired String, which is returned alongside.
    public func encode(utf8 bytes: some Collection<UInt8>, maxLength: Int = 64) -> (text: String, encoding: Encoding) {
        let text = String(decoding: bytes, as: UTF8.self)
        return (text, encode(text, maxLength: maxLength))
    }

    /// The word pieces of `text` (no specials, no truncation), as strings.
    public func tokens(_ text: String) -> [String] {
        encode(text, maxLength: .max).ids.dropFirst().dropLast().map { vocabulary.token(for: $0) }
    }

    /// Encodes many messages into one batch padded to the longest (≤ `maxLength`).
    public func encodeBatch(_ texts: [String], maxLength: Int = 64) -> BatchEncoding {
        let encodings = texts.map { encode($0, maxLength: maxLength) }
        let sequenceLength = encodings.map(\.count).max() ?? 0
        var ids = [Int32](repeating: vocabulary.padID, count: texts.count * sequenceLength)
        var mask = [UInt8](repeating: 0, count: texts.count * sequenceLength)
        for (row, encoding) in encodings.enumerated() {
            let base = row * sequenceLength
            for (column, id) in encoding.ids.enumerated() {
                ids[base + column] = id
                mask[base + column] = 1
            }
        }
        return BatchEncoding(batchSize: texts.count, sequenceLength: sequenceLength, ids: ids,
                             attentionMask: mask, lengths: encodings.map(\.count),
                             offsets: encodings.map(\.offsets))
    }

    /// The normalized words of `text` as strings (what the vocabulary builder counts).
    public func words(_ text: String) -> [(text: String, kind: WordKind)] {
        withWorkspace { workspace in
            workspace.source.removeAll(keepingCapacity: true)
            workspace.source.append(contentsOf: text.utf16)
            prepare(workspace)
            return workspace.normalized.units.withUnsafeBufferPointer { units in
                workspace.words.map { word in
                    (String(decoding: UnsafeBufferPointer(rebasing: units[word.start..<word.end]), as: UTF16.self), word.kind)
                }
            }
        }
    }

    /// The words of `text` (punctuation included) as UTF-16 ranges of the
    /// ORIGINAL text, with their kinds: what explanations highlight.
    public func wordSpans(_ text: String) -> [(range: Range<Int>, kind: WordKind)] {
        withWorkspace { workspace in
            workspace.source.removeAll(keepingCapacity: true)
            workspace.source.append(contentsOf: text.utf16)
            prepare(workspace)
            let normalized = workspace.normalized
            return workspace.words.compactMap { word in
                guard word.end > word.start else { return nil }
                let start = Int(normalized.originStart[word.start])
                let end = Int(normalized.originEnd[word.end - 1])
                return end > start ? (start..<end, word.kind) : nil
            }
        }
    }

    private func prepare(_ workspace: Workspace) {
        workspace.source.withUnsafeBufferPointer { source in
            TextNormalizer.normalize(utf16: source, into: &workspace.normalized)
        }
        workspace.normalized.units.withUnsafeBufferPointer { units in
            workspace.segmenter.segment(units, into: &workspace.words)
        }
    }

    /// Runs the pipeline on `workspace.source`, calling `emit` for at most
    /// `limit` tokens with their original ranges.
    private func tokenize(workspace: Workspace, limit: Int, emit: (Int32, Range<Int>) -> Void) {
        guard limit > 0 else { return }
        prepare(workspace)
        var emitted = 0
        let unknown = vocabulary.unknownID
        let trie = vocabulary.trie
        workspace.normalized.units.withUnsafeBufferPointer { units in
            workspace.normalized.originStart.withUnsafeBufferPointer { originStart in
                workspace.normalized.originEnd.withUnsafeBufferPointer { originEnd in
                    @inline(__always) func piece(_ id: Int32, _ start: Int, _ end: Int) -> Bool {
                        emit(id, Int(originStart[start])..<Int(originEnd[end - 1]))
                        emitted += 1
                        return emitted < limit
                    }
                    for word in workspace.words {
                        if word.end - word.start > maxCharactersPerWord {
                            guard piece(unknown, word.start, word.end) else { return }
                            continue
                        }
                        var position = word.start
                        let ideographic = word.kind == .ideographic
                        while position < word.end {
                            let root = (position == word.start || ideographic) ? TokenTrie.initialRoot : TokenTrie.continuationRoot
                            if let match = trie.longestMatch(units, from: position, to: word.end, root: root) {
                                guard piece(match.id, position, match.end) else { return }
                                position = match.end
                            } else {
                                // No token covers this character: one [UNK] for it.
                                let width = UTF16.isLeadSurrogate(units[position]) && position + 1 < word.end ? 2 : 1
                                guard piece(unknown, position, position + width) else { return }
                                position += width
                            }
                        }
                    }
                }
            }
        }
    }
}
