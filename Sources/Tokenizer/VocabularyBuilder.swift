/// Learns a WordPiece vocabulary from text, deterministically: the same texts
/// and settings always give a byte-identical vocabulary file.
///
/// The vocabulary is, in this order:
/// 1. the specials `[PAD] [UNK] [CLS] [SEP] [MASK]`;
/// 2. every character seen, plus ASCII letters, digits and punctuation, each
///    as a word-initial token and (except Chinese) as a `##` continuation, so
///    every word can be spelled;
/// 3. pieces learned by byte-pair-style merges over the Latin-script words
///    (most frequent adjacent pair first; ties broken by the merged string),
///    until the vocabulary reaches `targetSize` or no pair occurs
///    `minimumFrequency` times;
/// 4. Chinese dictionary words (from ICU's segmentation) seen at least
///    `minimumFrequency` times, most frequent first.
public struct VocabularyBuilder {
    public var targetSize: Int
    public var minimumFrequency: Int

    public init(targetSize: Int = 8000, minimumFrequency: Int = 2) {
        self.targetSize = targetSize
        self.minimumFrequency = minimumFrequency
    }

    /// Builds the token list from `texts`.
    public func build(texts: some Sequence<String>) -> [String] {
        let segmenter = WordPieceTokenizer(vocabulary: try! Vocabulary(tokens: Vocabulary.specialTokens))
        var latinWords: [String: Int] = [:]
        var chineseWords: [String: Int] = [:]
        var initialCharacters = Set<String>()
        var continuationCharacters = Set<String>()
        for text in texts {
            for (word, kind) in segmenter.words(text) {
                if kind == .ideographic {
                    chineseWords[word, default: 0] += 1
                    for character in word.unicodeScalars { initialCharacters.insert(String(character)) }
                } else if kind == .link || word.utf16.count > 100 {
                    continue
                } else {
                    latinWords[word, default: 0] += 1
                    var first = true
                    for scalar in word.unicodeScalars {
                        if first { initialCharacters.insert(String(scalar)) } else { continuationCharacters.insert(String(scalar)) }
                        first = false
                    }
                }
            }
        }
        for scalar in (0x21...0x7E).compactMap(Unicode.Scalar.init) where !(0x41...0x5A).contains(scalar.value) {
            initialCharacters.insert(String(scalar))
            continuationCharacters.insert(String(scalar))
        }

        var tokens = Vocabulary.specialTokens
        var seen = Set(tokens)
        func add(_ token: String) {
            if seen.insert(token).inserted { tokens.append(token) }
        }
        for character in initialCharacters.sorted() { add(character) }
        for character in continuationCharacters.sorted() { add(Vocabulary.continuationPrefix + character) }

        let chineseBudget = chineseWords.filter { $0.value >= minimumFrequency && $0.key.count > 1 }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map(\.key)
        let mergeBudget = max(0, targetSize - tokens.count - min(chineseBudget.count, targetSize / 4))
        for piece in learnMerges(latinWords, budget: mergeBudget) { add(piece) }
        for word in chineseBudget where tokens.count < targetSize { add(word) }
        return tokens
    }

    /// `pieces` with every adjacent (`left`, `right`) replaced by `merged`, left to right.
    static func merging(_ pieces: [Int32], left: Int32, right: Int32, into merged: Int32) -> [Int32] {
        var rebuilt: [Int32] = []
        var position = 0
        while position < pieces.count {
            if position + 1 < pieces.count && pieces[position] == left && pieces[position + 1] == right {
                rebuilt.append(merged)
                position += 2
            } else {
                rebuilt.append(pieces[position])
                position += 1
            }
        }
        return rebuilt
    }

    /// Byte-pair-style merges over `words` (word → count); returns up to
    /// `budget` new pieces in the order they were learned.
    func learnMerges(_ wordCounts: [String: Int], budget: Int) -> [String] {
        guard budget > 0 else { return [] }
        var symbols: [String] = []
        var symbolIDs: [String: Int32] = [:]
        func symbolID(_ text: String) -> Int32 {
            if let id = symbolIDs[text] { return id }
            let id = Int32(symbols.count)
            symbols.append(text)
            symbolIDs[text] = id
            return id
        }
        let sortedWords = wordCounts.sorted { $0.key < $1.key }
        var words: [[Int32]] = []
        var counts: [Int] = []
        for (word, count) in sortedWords {
            var pieces: [Int32] = []
            for (index, scalar) in word.unicodeScalars.enumerated() {
                pieces.append(symbolID(index == 0 ? String(scalar) : Vocabulary.continuationPrefix + String(scalar)))
            }
            words.append(pieces)
            counts.append(count)
        }
        func pairKey(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
        var pairCounts: [UInt64: Int] = [:]
        var pairWords: [UInt64: Set<Int>] = [:]
        for (index, pieces) in words.enumerated() where pieces.count > 1 {
            for position in 0..<(pieces.count - 1) {
                let key = pairKey(pieces[position], pieces[position + 1])
                pairCounts[key, default: 0] += counts[index]
                pairWords[key, default: []].insert(index)
            }
        }
        func merged(_ key: UInt64) -> String {
            let left = symbols[Int(key >> 32)]
            let right = symbols[Int(UInt32(truncatingIfNeeded: key))]
            return left + right.dropFirst(Vocabulary.continuationPrefix.count)
        }
        var learned: [String] = []
        var known = Set(symbols)
        while learned.count < budget {
            var bestKey: UInt64? = nil
            var bestCount = minimumFrequency - 1
            var bestText = ""
            for (key, count) in pairCounts where count >= minimumFrequency && count >= bestCount {
                if count > bestCount {
                    bestKey = key; bestCount = count; bestText = merged(key)
                } else {
                    let text = merged(key)
                    if text < bestText { bestKey = key; bestText = text }
                }
            }
            guard let key = bestKey else { break }
            let newID = symbolID(bestText)
            if known.insert(bestText).inserted { learned.append(bestText) }
            let (left, right) = (Int32(truncatingIfNeeded: key >> 32), Int32(truncatingIfNeeded: key))
            let affected = (pairWords[key] ?? []).sorted()
            for index in affected {
                let pieces = words[index]
                let count = counts[index]
                for position in 0..<(pieces.count - 1) {
                    let old = pairKey(pieces[position], pieces[position + 1])
                    pairCounts[old, default: 0] -= count
                    if pairCounts[old] == 0 { pairCounts[old] = nil }
                    pairWords[old]?.remove(index)
                }
                let rebuilt = Self.merging(pieces, left: left, right: right, into: newID)
                words[index] = rebuilt
                if rebuilt.count > 1 {
                    for position in 0..<(rebuilt.count - 1) {
                        let new = pairKey(rebuilt[position], rebuilt[position + 1])
                        pairCounts[new, default: 0] += count
                        pairWords[new, default: []].insert(index)
                    }
                }
            }
            pairCounts[key] = nil
            pairWords[key] = nil
        }
        return learned
    }
}
