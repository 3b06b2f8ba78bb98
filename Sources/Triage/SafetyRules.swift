import DataPack
import Foundation
import Tokenizer

/// A safety rule that fired on a message.
public struct SafetyMatch: Sendable, Equatable, Codable {
    /// The rule's id in `safety.yaml` (`gas`); record it on the ticket.
    public var ruleID: String
    /// The `emergency_guidance` key whose text goes into the reply.
    public var guidance: String
    /// The matched words as UTF-16 offsets in the ORIGINAL message (like the
    /// tokenizer's offsets), for highlighting.
    public var range: Range<Int>
    /// The original text of `range` ("smell gas", "煤气味").
    public var text: String
    /// The pattern that matched, as written in `safety.yaml`.
    public var pattern: String

    public init(ruleID: String, guidance: String, range: Range<Int>, text: String, pattern: String) {
        self.ruleID = ruleID
        self.guidance = guidance
        self.range = range
        self.text = text
        self.pattern = pattern
    }
}

/// The safety layer: the reviewed rules of `safety.yaml`, matched on every
/// message. A match can only RAISE a request to P1 (`apply(to:matches:)`),
/// never lower it, and brings the community's emergency guidance.
///
/// Matching (pattern syntax: see `SafetyPattern`): the message is normalized
/// and cut into words (Chinese: characters) by `SafetyText`; each rule fires
/// at most once, on its first occurrence that
/// 1. does not touch one of the rule's `except` phrases,
/// 2. is not negated (below), and
/// 3. when the rule has `requires_any`, has one of those phrases elsewhere in
///    the message (in any clause, outside the match, itself not negated:
///    "no heat, but it's not cold" does not fire, and not a near miss: "icy
///    steps, I almost slipped" does not fire the rule that needs a fall).
///
/// Negation looks BEFORE the match (and a little after), never inside it, so
/// a pattern may itself contain a negation ("no heat", "没有暖气"). It only
/// counts within the match's clause: clauses end at `, ; . ! ? :` (Chinese
/// punctuation included) and before "but / however / although / though" and
/// 但 / 不过 / 可是 / 然而.
/// - English, in the 3 words before the match: no, not, never, without,
///   nothing, none, nobody, neither, nor, "free of", and "-n't" words
///   (isn't, don't, doesn't, haven't, also without the apostrophe: dont,
///   isnt, …). Not cues: can't, won't, couldn't, wouldn't, cannot (residents
///   describe emergencies with them: "the water won't stop", "I can't get
///   out"); a cue followed by know / sure / idea / matter / stop / stopping
///   ("I don't know where the smoke comes from"); "oh no".
/// - Chinese, in the 4 characters before the match: 没 (没有, 并没有), 不
///   (不是), 无, 未, 别 — except where the character starts another word:
///   不停 / 不断 / 打不开-style complements (不开 不去 不来 不上 不下 不住 不了
///   不动 不掉 不出 不进 …), 不知道, 不要, 不小心, 不过, 无法, 没法, 没办法,
///   别人 / 别的 / 别处.
/// - After the match (3 words / 4 characters): anymore, "any more" (unless
///   the match holds a negation itself: "doesn't latch anymore"), gone;
///   没了, 没有了, 消失, 散了, 散去, 灭了 ("the gas smell is gone", "烟散了").
/// "Stopped" is NOT a cue: "the elevator stopped and we're stuck" is an emergency.
/// A message as the rules read it: its normalized words cut into clauses,
/// and the words the anchor screen looks for. Reading a message once serves
/// every rule set (safety, urgent, can-wait) and the denial check.
public struct RuleText: Sendable {
    /// The message as written.
    public let text: String
    /// Normalized words, cut into clauses (``SafetyRules/clauses(_:)``).
    let units: [SafetyText.Unit]
    /// The match keys of `units` (``SafetyText/matchKeys(of:)``).
    let keys: Set<String>
    /// `text` in UTF-16, for cutting out what matched.
    let utf16: [UInt16]

    /// Reads `text` (one ICU word segmentation).
    public init(_ text: String) {
        self.text = text
        units = SafetyRules.clauses(SegmenterPool.shared.withSegmenter { SafetyText(text, segmenter: $0).units })
        keys = SafetyText.matchKeys(of: units)
        utf16 = Array(text.utf16)
    }
}

public struct SafetyRules: Sendable {
    public let rules: [SafetyRule]
    /// `emergency_guidance` texts by key.
    public let guidance: [String: Translations]

    /// Each rule's patterns of both languages, gathered once (every message is screened).
    private let prepared: [(patterns: [SafetyPattern], exceptions: [SafetyPattern], requirements: [SafetyPattern])]

    public init(rules: [SafetyRule], guidance: [String: Translations] = [:]) {
        self.rules = rules
        self.guidance = guidance
        prepared = rules.map { ($0.allPatterns, $0.allExceptions, $0.allRequirements) }
    }

    /// The pack's rules with its community's guidance.
    public init(pack: DataPack) {
        self.init(rules: pack.safetyRules, guidance: pack.community.emergencyGuidance)
    }

    /// The rules that fire on `text`, at most one match per rule, in the
    /// rules' file order (the file lists the most severe hazards first).
    public func matches(_ text: String) -> [SafetyMatch] {
        matches(RuleText(text))
    }

    /// The rules that fire on a message already read (``RuleText``): several
    /// rule sets read one message with one segmentation.
    public func matches(_ text: RuleText) -> [SafetyMatch] {
        matches(text, screening: true)
    }

    /// ``matches(_:)``, optionally without the anchor screen (tests check the
    /// screen never changes a result).
    func matches(_ text: String, screening: Bool) -> [SafetyMatch] {
        matches(RuleText(text), screening: screening)
    }

    private func matches(_ text: RuleText, screening: Bool) -> [SafetyMatch] {
        let units = text.units
        guard !units.isEmpty else { return [] }
        let utf16 = text.utf16
        let keys: Set<String>? = screening ? text.keys : nil
        var result: [SafetyMatch] = []
        for (rule, lists) in zip(rules, prepared) {
            let patterns = lists.patterns.filter { Self.canOccur($0, keys) }
            guard !patterns.isEmpty else { continue }
            let exceptions = lists.exceptions.filter { Self.canOccur($0, keys) }.flatMap { Self.occurrences(of: $0, in: units) }
            var fired: (range: Range<Int>, pattern: SafetyPattern)? = nil
            for pattern in patterns {
                for occurrence in Self.occurrences(of: pattern, in: units, outside: exceptions) {
                    if let best = fired, best.range.lowerBound <= occurrence.lowerBound { break }
                    if Self.isNegated(occurrence, in: units) { continue }
                    if !lists.requirements.isEmpty {
                        let satisfied = lists.requirements.contains { requirement in
                            Self.canOccur(requirement, keys) && Self.occurrences(of: requirement, in: units).contains {
                                // A condition is negated only by what precedes it: in "the back door
                                // doesnt latch anymore" the "anymore" belongs to the match.
                                !$0.overlaps(occurrence) && !Self.isNegated($0, in: units, lookingAfter: false)
                                    && !Self.isNearMiss($0, in: units)
                            }
                        }
                        if !satisfied { continue }
                    }
                    fired = (occurrence, pattern)
                    break
                }
            }
            if let (span, pattern) = fired {
                let range = units[span.lowerBound].range.lowerBound..<units[span.upperBound - 1].range.upperBound
                let matched = String(decoding: utf16[range], as: UTF16.self)
                result.append(SafetyMatch(ruleID: rule.id, guidance: rule.guidance, range: range, text: matched, pattern: pattern.source))
            }
        }
        return result
    }

    /// True when a hazard a rule names is mentioned in `text` only as absent
    /// ("no gas smell", "there's no smoke or fire", "没有着火"): a pattern
    /// occurs, outside the rule's exceptions, and a negation governs it.
    /// (A rule that fires elsewhere in the message is ``matches(_:)``'s
    /// business; this only says the resident denied something.)
    public func deniesHazard(in text: String) -> Bool {
        deniesHazard(in: RuleText(text))
    }

    /// ``deniesHazard(in:)`` on a message already read.
    public func deniesHazard(in text: RuleText) -> Bool {
        let units = text.units, keys = text.keys
        guard !units.isEmpty else { return false }
        return prepared.contains { lists in
            let patterns = lists.patterns.filter { Self.canOccur($0, keys) }
            guard !patterns.isEmpty else { return false }
            let exceptions = lists.exceptions.filter { Self.canOccur($0, keys) }.flatMap { Self.occurrences(of: $0, in: units) }
            return patterns.contains { pattern in
                Self.occurrences(of: pattern, in: units, outside: exceptions).contains { Self.isNegated($0, in: units) }
            }
        }
    }

    /// False when `pattern`'s anchor word is not among the message's `keys`
    /// (``SafetyText/matchKeys(of:)``): it cannot match, and is not tried.
    static func canOccur(_ pattern: SafetyPattern, _ keys: Set<String>?) -> Bool {
        guard let keys, let anchor = pattern.anchor else { return true }
        return keys.contains(anchor)
    }

    /// The occurrences of `pattern` that overlap none of a rule's `exceptions`.
    static func occurrences(of pattern: SafetyPattern, in units: [SafetyText.Unit], outside exceptions: [Range<Int>]) -> [Range<Int>] {
        occurrences(of: pattern, in: units).filter { occurrence in !exceptions.contains { $0.overlaps(occurrence) } }
    }

    /// The guidance texts for `matches` in `language`, each key once, in the
    /// order of the matches (most severe first).
    public func guidance(for matches: [SafetyMatch], language: Language) -> [String] {
        var seen = Set<String>()
        return matches.compactMap { match in
            guard seen.insert(match.guidance).inserted else { return nil }
            return guidance[match.guidance]?[language] ?? guidance[match.guidance]?[.en]
        }
    }

    /// The priority after the safety layer: P1 when any rule fired, otherwise
    /// `priority` unchanged. Never lowers a priority (P1 is the highest).
    public static func apply(to priority: Priority?, matches: [SafetyMatch]) -> Priority? {
        matches.isEmpty ? priority : .p1
    }

    // MARK: - Matching

    /// Splits clauses further before the connectives that start a new one.
    static func clauses(_ units: [SafetyText.Unit]) -> [SafetyText.Unit] {
        var result = units
        var offset = 0
        var index = 0
        while index < units.count {
            var length = 1
            var isConnective = false
            if !units[index].isHan {
                isConnective = englishConnectives.contains(units[index].text)
            } else if let connective = chineseConnectives.first(where: { hasHan($0, in: units, at: index) }) {
                isConnective = true
                length = connective.count
            }
            if isConnective && index > 0 && units[index - 1].clause == units[index].clause { offset += 1 }
            for position in index..<(index + length) { result[position].clause += offset }
            index += length
        }
        return result
    }

    static let englishConnectives: Set<String> = ["but", "however", "although", "though"]
    static let chineseConnectives: [String] = ["不过", "可是", "然而", "但"]

    /// True when the Chinese characters of `word` stand at `index`.
    static func hasHan(_ word: String, in units: [SafetyText.Unit], at index: Int) -> Bool {
        var position = index
        for character in word {
            guard position < units.count, units[position].isHan, units[position].text == String(character),
                  units[position].clause == units[index].clause else { return false }
            position += 1
        }
        return true
    }

    /// True when `text` is `word` with a possessive or contracted "'s"
    /// (`heat's` for `heat`: "the heat's been off", "the fridge's dead").
    static func isPossessive(_ text: String, of word: String) -> Bool {
        text.utf8.count == word.utf8.count + 2 && text.hasSuffix("'s") && text.hasPrefix(word)
    }

    /// True when `text` is `word` written without its apostrophe (`doesnt`
    /// for `doesn't`, `wont` for `won't`), as residents type on phones.
    static func isUnapostrophized(_ text: String, of word: String) -> Bool {
        text.utf8.count + 1 == word.utf8.count && word.utf8.contains(UInt8(ascii: "'"))
            && text.utf8.elementsEqual(word.utf8.lazy.filter { $0 != UInt8(ascii: "'") })
    }

    /// Every span of units (start..<end) where `pattern` matches, by start;
    /// for each start the shortest. A match stays within one clause.
    static func occurrences(of pattern: SafetyPattern, in units: [SafetyText.Unit]) -> [Range<Int>] {
        let elements = pattern.elements
        func matches(_ element: SafetyPatternElement, _ unit: SafetyText.Unit) -> Bool {
            switch element {
            case .word(let word): unit.text == word || isPossessive(unit.text, of: word) || isUnapostrophized(unit.text, of: word)
            case .prefix(let prefix): !unit.isHan && unit.text.hasPrefix(prefix)
            case .gap: true
            }
        }
        /// The end of a match of `elements[element...]` from `position`, or nil.
        func match(_ element: Int, _ position: Int, clause: Int) -> Int? {
            if element == elements.count { return position }
            if elements[element] == .gap {
                for skip in 0...SafetyPattern.maximumGap {
                    let next = position + skip
                    guard next <= units.count else { break }
                    if skip > 0 && units[next - 1].clause != clause { break }
                    if let end = match(element + 1, next, clause: clause) { return end }
                }
                return nil
            }
            guard position < units.count, units[position].clause == clause, matches(elements[element], units[position]) else { return nil }
            return match(element + 1, position + 1, clause: clause)
        }
        var result: [Range<Int>] = []
        for start in units.indices {
            if let end = match(0, start, clause: units[start].clause) { result.append(start..<end) }
        }
        return result
    }

    // MARK: - Negation

    static let englishCues: Set<String> = ["no", "not", "never", "without", "nothing", "none", "nobody", "neither", "nor",
                                           "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "havent", "hasnt", "hadnt"]
    /// "-n't" words that describe an emergency rather than deny one.
    static let englishNonCues: Set<String> = ["can't", "won't", "couldn't", "wouldn't", "cannot", "cant", "wont", "mustn't", "shouldn't"]
    /// A cue followed by one of these is not a negation of what follows.
    static let englishCueExemptions: Set<String> = ["know", "sure", "idea", "matter", "stop", "stopping"]
    static let englishPostCues: Set<String> = ["anymore", "gone"]

    /// Chinese cue characters, and the characters after them that make another word.
    static let chineseCues: [Character: Set<Character>] = [
        "没": ["法", "办"],
        "不": Set("停断开去来上下住了动行能得知少过好对小够管时然久舒要掉出进"),
        "无": ["法", "论"],
        "未": ["来"],
        "别": ["人", "的", "处"],
    ]
    static let chinesePostCues = ["没了", "没有了", "消失", "散了", "散去", "灭了"]

    static func isEnglishCue(_ units: [SafetyText.Unit], _ index: Int) -> Bool {
        let text = units[index].text
        var isCue = englishCues.contains(text) || (text.hasSuffix("n't") && !englishNonCues.contains(text))
        if text == "free", index + 1 < units.count, units[index + 1].text == "of" { isCue = true }
        guard isCue else { return false }
        if index + 1 < units.count, englishCueExemptions.contains(units[index + 1].text) { return false }
        if text == "no", index > 0, units[index - 1].text == "oh", units[index - 1].clause == units[index].clause { return false }
        return true
    }

    static func isChineseCue(_ units: [SafetyText.Unit], _ index: Int) -> Bool {
        guard let character = units[index].text.first, let exemptions = chineseCues[character] else { return false }
        if index + 1 < units.count, units[index + 1].isHan, let next = units[index + 1].text.first, exemptions.contains(next) {
            return false
        }
        return true
    }

    /// Words that make what follows a near miss: "almost slipped", "差点摔倒".
    static let englishNearMissCues: Set<String> = ["almost", "nearly"]
    static let chineseNearMissCues = ["差点", "差一点", "险些", "几乎"]

    /// True when the 2 words (Chinese: 3 characters) before `span`, in its
    /// clause, say it almost happened. Only conditions (`requires_any`) are
    /// checked: a hazard that almost happened may still be one now.
    static func isNearMiss(_ span: Range<Int>, in units: [SafetyText.Unit]) -> Bool {
        let clause = units[span.lowerBound].clause
        var index = span.lowerBound - 1
        while index >= 0 && index >= span.lowerBound - 3 && units[index].clause == clause {
            if units[index].isHan {
                if chineseNearMissCues.contains(where: { hasHan($0, in: units, at: index) }) { return true }
            } else if span.lowerBound - index <= 2 && englishNearMissCues.contains(units[index].text) {
                return true
            }
            index -= 1
        }
        return false
    }

    /// True when a negation cue governs the match `span` (see the type's documentation).
    /// `lookingAfter` false checks only the cues before the span.
    static func isNegated(_ span: Range<Int>, in units: [SafetyText.Unit], lookingAfter: Bool = true) -> Bool {
        let clause = units[span.lowerBound].clause
        var index = span.lowerBound - 1
        while index >= 0 && index >= span.lowerBound - 4 && units[index].clause == clause {
            let distance = span.lowerBound - index
            if units[index].isHan {
                if isChineseCue(units, index) { return true }
            } else if distance <= 3 && isEnglishCue(units, index) {
                return true
            }
            index -= 1
        }
        guard lookingAfter else { return false }
        // "anymore" ends a negation: after a match that holds one ("doesn't latch
        // anymore", "won't lock anymore") it says the failure persists.
        let negativeMatch = span.contains { position in
            let text = units[position].text
            return englishCues.contains(text) || englishNonCues.contains(text) || text.hasSuffix("n't")
        }
        var after = span.upperBound
        while after < units.count && after < span.upperBound + 4 && units[after].clause == clause {
            let unit = units[after]
            if unit.isHan {
                if chinesePostCues.contains(where: { hasHan($0, in: units, at: after) }) { return true }
            } else if after < span.upperBound + 3 {
                if unit.text == "gone" || (!negativeMatch && englishPostCues.contains(unit.text)) { return true }
                if !negativeMatch, unit.text == "any", after + 1 < units.count, units[after + 1].text == "more" { return true }
            }
            after += 1
        }
        return false
    }
}

/// Word segmenters for concurrent callers: each call borrows one (or opens a
/// new one when all are in use) and gives it back.
final class SegmenterPool: @unchecked Sendable {
    /// The pool every rule set reads messages with.
    static let shared = SegmenterPool()

    private let lock = NSLock()
    private var idle: [WordSegmenter] = []

    func withSegmenter<T>(_ body: (WordSegmenter) -> T) -> T {
        let segmenter = lock.withLock { idle.popLast() } ?? WordSegmenter()
        defer { lock.withLock { idle.append(segmenter) } }
        return body(segmenter)
    }
}

extension SafetyRules: FeatureLexicon {
    /// A hash of every rule's id and phrases (comments and layout of
    /// safety.yaml do not count).
    public var fingerprint: String {
        var state = StableHash.fnv1a("safety-rules|".utf8)
        for rule in rules {
            let phrases = [rule.allPatterns, rule.allExceptions, rule.allRequirements].map { $0.map(\.source).joined(separator: "\u{1F}") }
            state = StableHash.fnv1a("\(rule.id)\u{1E}\(phrases.joined(separator: "\u{1D}"))\u{1C}".utf8, state: state)
        }
        return StableHash.hex(StableHash.mix(state))
    }

    /// `safety.<rule id>` for every rule that fires on `text`.
    public func features(of text: String) -> [String] {
        matches(text).map { "safety.\($0.ruleID)" }
    }
}
