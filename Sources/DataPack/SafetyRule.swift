import Tokenizer

/// A reviewed emergency rule from `safety.yaml`: phrases that name a hazard,
/// and the community's guidance (a key of `emergency_guidance`) to give when
/// one is found. Matching lives in the Triage module (`SafetyRules`); this is
/// the data and its pattern syntax.
public struct SafetyRule: Sendable {
    /// lower_snake_case, unique in the file (`gas`, `trapped`).
    public var id: String
    /// A key of `community.yaml` `emergency_guidance`.
    public var guidance: String
    /// The phrases that name the hazard, by language (every language has some).
    public var patterns: [Language: [SafetyPattern]]
    /// Phrases that look like the hazard but are not one (`fire drill`): a
    /// match touching one of these does not count. May be empty.
    public var except: [Language: [SafetyPattern]]
    /// When not empty, the rule fires only if one of these phrases also occurs
    /// in the message, outside the match (no heat → only when `freezing`, `零下`…).
    public var requiresAny: [Language: [SafetyPattern]]
    /// Urgent rules only: the service category the lost service belongs to
    /// (`no_power` → `electrical`), used when the model cannot tell.
    public var category: String?
    public var location: SourceLocation

    public init(id: String, guidance: String, patterns: [Language: [SafetyPattern]],
                except: [Language: [SafetyPattern]] = [:], requiresAny: [Language: [SafetyPattern]] = [:],
                category: String? = nil, location: SourceLocation = SourceLocation(file: "safety.yaml", line: 1)) {
        self.id = id
        self.guidance = guidance
        self.patterns = patterns
        self.except = except
        self.requiresAny = requiresAny
        self.category = category
        self.location = location
    }

    /// Every pattern of every language, languages in order.
    public var allPatterns: [SafetyPattern] { Language.allCases.flatMap { patterns[$0] ?? [] } }
    public var allExceptions: [SafetyPattern] { Language.allCases.flatMap { except[$0] ?? [] } }
    public var allRequirements: [SafetyPattern] { Language.allCases.flatMap { requiresAny[$0] ?? [] } }
}

/// One step of a safety pattern.
public enum SafetyPatternElement: Sendable, Equatable {
    /// One whole word (normalized), or one Chinese character.
    case word(String)
    /// `flood*`: any word that starts with this (flood, flooded, flooding).
    case prefix(String)
    /// `*` on its own: up to `SafetyPattern.maximumGap` words (Chinese:
    /// characters) of anything, or none.
    case gap
}

/// A phrase of a safety rule, parsed.
///
/// The syntax (documented for staff in intents/README.md):
/// - words are matched whole, after the same normalization as messages (case,
///   full-width forms, punctuation and hyphens do not matter): `gas` matches
///   "GAS" and "gas," but not "gasket";
/// - a word followed by `'s` is the word: `heat` matches "the heat's off";
///   a word written without its apostrophe is the word: `doesn't` matches "doesnt";
/// - Chinese is matched character by character, spaces ignored: `煤气味`;
/// - `word*` (a star right after a Latin word) matches any word starting with
///   it: `flood*` → flood, floods, flooded, flooding;
/// - `*` on its own (or after a Chinese character) stands for up to 4 words —
///   4 characters in Chinese — or none: `smell * gas` matches "smell gas",
///   "smell of gas", "smells like natural gas";
/// - a temperature written `-10` counts as the words `minus 10`.
public struct SafetyPattern: Sendable, Equatable, CustomStringConvertible {
    /// The most words (Chinese: characters) one `*` may skip.
    public static let maximumGap = 4
    /// A `word*` prefix needs at least this many characters.
    public static let minimumPrefixLength = 3

    /// The pattern as written in the file.
    public var source: String
    public var elements: [SafetyPatternElement]
    public var location: SourceLocation?
    /// A whole word every match contains (the longest; Chinese: a character),
    /// as ``SafetyText/matchKey(_:)`` writes it; nil when the pattern has only
    /// prefixes. A message without it cannot match: rules screen every
    /// message, so this spares trying most patterns at all.
    public private(set) var anchor: String?

    public var description: String { source }

    /// A problem with a pattern's syntax.
    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Parses `source` (see the type's documentation for the syntax).
    public init(_ source: String, location: SourceLocation? = nil) throws(SyntaxError) {
        var elements: [SafetyPatternElement] = []
        var buffer = ""
        func flush(asPrefix: Bool) throws(SyntaxError) {
            defer { buffer = "" }
            let units = SafetyText(buffer).units
            guard !units.isEmpty else {
                if asPrefix { throw SyntaxError(message: "\"\(buffer)*\": a star after something that is not a word") }
                return
            }
            for (index, unit) in units.enumerated() {
                if asPrefix && index == units.count - 1 {
                    guard !unit.isHan else { throw SyntaxError(message: "\"\(buffer)*\": a prefix star only follows a Latin word") }
                    guard unit.text.count >= Self.minimumPrefixLength else {
                        throw SyntaxError(message: "\"\(unit.text)*\" is too short to be a prefix (at least \(Self.minimumPrefixLength) letters)")
                    }
                    elements.append(.prefix(unit.text))
                } else {
                    elements.append(.word(unit.text))
                }
            }
        }
        for character in source {
            if character == "*" || character == "＊" {
                if let last = buffer.last, !last.isWhitespace, last.isASCII, last.isLetter || last.isNumber {
                    try flush(asPrefix: true)
                } else {
                    try flush(asPrefix: false)
                    if elements.last == .gap { throw SyntaxError(message: "two stars in a row: write one * for a gap") }
                    elements.append(.gap)
                }
            } else if character.isWhitespace {
                try flush(asPrefix: false)
            } else {
                buffer.append(character)
            }
        }
        try flush(asPrefix: false)
        guard elements.contains(where: { $0 != .gap }) else { throw SyntaxError(message: "the pattern has no words") }
        if elements.first == .gap || elements.last == .gap {
            throw SyntaxError(message: "a pattern cannot start or end with a * gap (it would match anything around the words)")
        }
        self.source = source
        self.elements = elements
        self.anchor = elements.compactMap { element -> String? in
            if case .word(let word) = element { return SafetyText.matchKey(word) }
            return nil
        }.max { $0.utf8.count < $1.utf8.count }
        self.location = location
    }
}

/// A message cut into the units safety patterns match: whole words (after
/// Concierge's normalization and ICU word segmentation), single Chinese
/// characters, numbers and emoji, each with its range in the ORIGINAL text.
/// Punctuation is not a unit but separates clauses; a `-` right before a
/// number (`-10`) becomes the unit `minus`.
public struct SafetyText: Sendable {
    public struct Unit: Sendable, Equatable {
        /// The normalized text of the unit (`gas`, `煤`, `10`, `don't`).
        public var text: String
        /// UTF-16 offsets in the original text (like the tokenizer's offsets).
        public var range: Range<Int>
        /// Units in different clauses are separated by `, ; . ! ? :` or brackets
        /// (Chinese punctuation is normalized to these first).
        public var clause: Int
        /// A Chinese (CJK) character.
        public var isHan: Bool
    }

    public var units: [Unit]

    /// A word as the rules' screen compares it: without apostrophes, so that
    /// "doesnt" and "doesn't" are one key.
    public static func matchKey(_ word: String) -> String {
        word.contains("'") ? word.replacingOccurrences(of: "'", with: "") : word
    }

    /// The keys (``matchKey(_:)``) of every unit, and of each "'s" word without
    /// its "'s" ("heat's" → `heat`): a pattern whose ``SafetyPattern/anchor``
    /// is not among them cannot match these units.
    public static func matchKeys(of units: [Unit]) -> Set<String> {
        var keys = Set<String>()
        for unit in units {
            keys.insert(Self.matchKey(unit.text))
            if unit.text.hasSuffix("'s") { keys.insert(Self.matchKey(String(unit.text.dropLast(2)))) }
        }
        return keys
    }

    /// Cuts `text`. Creates an ICU segmenter: pass one (`segmenter:`) when
    /// cutting many texts on one thread.
    public init(_ text: String, segmenter: WordSegmenter? = nil) {
        let normalized = TextNormalizer.normalize(text)
        var words: [Word] = []
        let segmenter = segmenter ?? WordSegmenter()
        normalized.units.withUnsafeBufferPointer { segmenter.segment($0, into: &words) }
        let units = normalized.units
        func original(_ start: Int, _ end: Int) -> Range<Int> {
            var lower = Int(normalized.originStart[start]), upper = Int(normalized.originEnd[start])
            for index in start..<end {
                lower = min(lower, Int(normalized.originStart[index]))
                upper = max(upper, Int(normalized.originEnd[index]))
            }
            return lower..<upper
        }
        let clauseBreaks: Set<UInt16> = Set(",;.!?:()[]{}".utf16)
        let minusSigns: Set<UInt16> = [0x2D, 0x2212, 0x2013, 0xFE63]
        var result: [Unit] = []
        var clause = 0
        for (index, word) in words.enumerated() {
            switch word.kind {
            case .punctuation:
                let unit = units[word.start]
                if clauseBreaks.contains(unit) {
                    if result.last?.clause == clause { clause += 1 }
                } else if minusSigns.contains(unit), index + 1 < words.count, words[index + 1].kind == .number,
                          words[index + 1].start == word.end,
                          index == 0 || words[index - 1].end < word.start || words[index - 1].kind == .punctuation {
                    result.append(Unit(text: "minus", range: original(word.start, word.end), clause: clause, isHan: false))
                }
            case .ideographic:
                var position = word.start
                while position < word.end {
                    let width = UTF16.isLeadSurrogate(units[position]) && position + 1 < word.end ? 2 : 1
                    let text = String(decoding: units[position..<(position + width)], as: UTF16.self)
                    result.append(Unit(text: text, range: original(position, position + width), clause: clause, isHan: true))
                    position += width
                }
            default:
                let text = String(decoding: units[word.start..<word.end], as: UTF16.self)
                result.append(Unit(text: text, range: original(word.start, word.end), clause: clause, isHan: false))
            }
        }
        self.units = result
    }
}
