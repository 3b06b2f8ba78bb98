import DataPack
import Foundation

/// Small, rule-based readings of a resident's words that the model does not
/// give: a unit number, a place in the building, yes or no, a choice from a
/// numbered list, a ticket number. English and Chinese.
public enum TextCues {
    // MARK: Units

    /// A unit number in `text`: `unit 4B`, `apt 3c`, `#702`, `suite 101`, a
    /// bare `4B`/`12C`, `702室`, `4B房间`. Returned upper-cased (`4B`).
    public static func unit(in text: String) -> String? {
        let patterns = [
            #"(?i)\b(?:unit|apt\.?|apartment|suite|ste\.?)\s*#?\s*([0-9]{1,4}[a-z]?)\b"#,
            #"(?<![0-9A-Za-z#])#\s?([0-9]{2,4}[A-Za-z]?)\b"#,
            #"(?i)(?<![0-9a-z])([0-9]{1,3}[a-z])(?![0-9a-z])"#,
            #"([0-9]{1,4}[A-Za-z]?)\s*(?:室|号房|房间|单元)"#,
        ]
        for pattern in patterns {
            if let match = firstCapture(pattern, in: text) { return match.uppercased() }
        }
        return nil
    }

    // MARK: Places

    /// A common area or a room: `id` is the same for both languages, so a
    /// report in Chinese matches a ticket filed in English.
    public struct Place: Sendable, Equatable {
        public var id: String
        /// The words as the resident wrote them.
        public var text: String
        /// True for shared areas (lobby, garage, …) where other residents'
        /// reports of the same problem are likely; false for rooms in a unit.
        public var isCommonArea: Bool
    }

    /// Place id → (common area?, English words, Chinese words). Longer phrases first within each entry.
    static let placeLexicon: [(id: String, common: Bool, words: [String])] = [
        ("lobby", true, ["lobby", "front desk", "大堂", "大厅"]),
        ("hallway", true, ["hallway", "hall way", "corridor", "hall", "楼道", "走廊", "过道"]),
        ("stairwell", true, ["stairwell", "staircase", "stairs", "楼梯间", "楼梯"]),
        ("elevator", true, ["elevator", "lift", "电梯"]),
        ("garage", true, ["parkade", "parking garage", "garage", "underground parking", "parking lot", "车库", "停车场"]),
        ("laundry_room", true, ["laundry room", "laundry", "洗衣房"]),
        ("gym", true, ["gym", "fitness room", "健身房"]),
        ("pool", true, ["swimming pool", "pool", "hot tub", "游泳池", "泳池"]),
        ("roof", true, ["rooftop", "roof deck", "roof", "天台", "楼顶"]),
        ("basement", true, ["basement", "地下室"]),
        ("mailroom", true, ["mailroom", "mail room", "mailbox", "package room", "收发室", "信箱", "快递室"]),
        ("bike_room", true, ["bike room", "bike storage", "自行车房", "自行车库"]),
        ("courtyard", true, ["courtyard", "garden", "playground", "花园", "院子", "游乐场"]),
        ("entrance", true, ["front entrance", "main entrance", "entrance", "front door of the building", "入口", "大门", "门口"]),
        ("party_room", true, ["party room", "活动室", "会所"]),
        ("trash_room", true, ["garbage room", "trash room", "recycling room", "垃圾房", "垃圾间"]),
        ("kitchen", false, ["kitchen", "厨房"]),
        ("bathroom", false, ["bathroom", "washroom", "restroom", "toilet room", "卫生间", "浴室", "洗手间", "厕所"]),
        ("bedroom", false, ["bedroom", "卧室", "睡房"]),
        ("living_room", false, ["living room", "客厅"]),
        ("balcony", false, ["balcony", "阳台"]),
    ]

    /// The places named in `text`, in the lexicon's order (floors and
    /// buildings as `floor 3`, `building 2`).
    public static func places(in text: String) -> [Place] {
        let lowered = Array(text.lowercased().unicodeScalars)
        var found: [Place] = []
        for entry in placeWords {
            for word in entry.words where containsWord(word, in: lowered) {
                found.append(Place(id: entry.id, text: word.text, isCommonArea: entry.common))
                break
            }
        }
        if let floor = firstCapture(#"(?i)\b(?:floor|level)\s*([0-9]{1,2})\b"#, in: text)
            ?? firstCapture(#"(?i)\b([0-9]{1,2})(?:st|nd|rd|th)\s+floor\b"#, in: text)
            ?? firstCapture(#"([0-9]{1,2})\s*(?:楼|层)(?!的?[0-9])"#, in: text) {
            found.append(Place(id: "floor \(Int(floor) ?? 0)", text: "floor \(floor)", isCommonArea: true))
        }
        if let building = firstCapture(#"(?i)\b(?:building|bldg\.?)\s*([0-9]{1,2})\b"#, in: text)
            ?? firstCapture(#"([0-9]{1,2})\s*号楼"#, in: text) {
            found.append(Place(id: "building \(Int(building) ?? 0)", text: "building \(building)", isCommonArea: true))
        }
        return found
    }

    /// The place ids named in `text` (for comparing two locations).
    public static func placeIDs(in text: String) -> Set<String> { Set(places(in: text).map(\.id)) }

    // MARK: Yes / no

    /// An answer to a yes/no question, or nil when `text` is neither.
    public enum YesNo: Sendable, Equatable { case yes, no }

    static let yesWords = ["yes", "yeah", "yep", "yup", "sure", "ok", "okay", "y", "please do", "go ahead", "correct",
                           "right", "that's right", "confirm", "fine", "of course", "absolutely", "please"]
    static let noWords = ["no", "nope", "nah", "n", "not really", "don't", "do not", "no thanks", "no thank you", "wrong",
                          "incorrect", "never mind", "nevermind"]
    static let chineseYes = ["是的", "是", "对", "对的", "好的", "好", "可以", "行", "嗯", "确认", "没错", "没问题", "要"]
    static let chineseNo = ["不是", "不对", "不要", "不用", "不可以", "不行", "否", "没有", "别", "不"]

    /// Reads a yes or a no at the start of a short answer ("yes please",
    /// "no, it's the heating", "可以", "不用了").
    public static func yesNo(_ text: String) -> YesNo? {
        let trimmed = text.lowercased().trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters))
        if trimmed.isEmpty { return nil }
        // Chinese: the answer starts the message; "不" forms win over "是/好".
        for word in chineseNo where trimmed.hasPrefix(word) { return .no }
        for word in chineseYes where trimmed.hasPrefix(word) { return .yes }
        let words = trimmed.split(whereSeparator: { !$0.isLetter && $0 != "'" }).map(String.init)
        guard let first = words.first else { return nil }
        let firstTwo = words.prefix(2).joined(separator: " ")
        if noWords.contains(firstTwo) || noWords.contains(first) { return .no }
        if yesWords.contains(firstTwo) || yesWords.contains(first) { return .yes }
        return nil
    }

    // MARK: Times

    static let timeWords = [
        "now", "today", "tonight", "tomorrow", "yesterday", "morning", "mornings", "afternoon", "afternoons", "evening",
        "evenings", "night", "nights", "noon", "midnight", "weekday", "weekdays", "weekend", "weekends", "anytime", "any",
        "whenever", "always", "since", "ago", "am", "pm", "o'clock", "hour", "hours", "minute", "minutes", "day", "days",
        "week", "weeks", "month", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "before",
        "after", "lunch", "dinner", "breakfast", "earlier", "later", "soon", "asap", "week's", "all", "constantly", "every",
    ]
    static let chineseTimeWords = [
        "现在", "刚才", "刚刚", "今天", "明天", "昨天", "前天", "早上", "上午", "中午", "下午", "晚上", "半夜", "凌晨", "夜里",
        "周", "星期", "礼拜", "工作日", "随时", "都行", "都可以", "点", "时", "分钟", "小时", "天", "月", "一直", "之前",
        "以后", "已经", "最近", "每", "经常",
    ]

    /// True when `text` says when: a time of day, a day, a span, a clock time
    /// ("weekday evenings", "since last night", "2pm", "工作日晚上", "刚才").
    public static func saysWhen(_ text: String) -> Bool {
        let lowered = text.lowercased()
        if chineseTimeWords.contains(where: { lowered.contains($0) }) { return true }
        if firstCapture(#"([0-9]{1,2}\s*(?::[0-9]{2})?\s*(?:am|pm|h)\b)"#, in: lowered) != nil { return true }
        if firstCapture(#"\b([0-9]{1,2}:[0-9]{2})\b"#, in: lowered) != nil { return true }
        let words = lowered.split(whereSeparator: { !$0.isLetter && $0 != "'" }).map(String.init)
        return words.contains(where: timeWords.contains)
    }

    // MARK: Questions

    static let questionStarts: Set<String> = [
        "what", "what's", "whats", "when", "when's", "where", "where's", "how", "how's", "who", "who's", "why", "which",
        "can", "could", "may", "is", "are", "do", "does", "did", "will", "would", "should", "shall", "am",
    ]
    static let chineseQuestionMarks = ["吗", "什么", "怎么", "怎样", "几点", "几号", "哪", "多少", "能不能", "可不可以", "是否",
                                       "有没有", "为什么", "呢", "如何"]

    /// True when `text` is put as a question: a question mark, an English
    /// question word or auxiliary first ("when is the pool open", "can I
    /// keep a cat"), or a Chinese question word or particle ("游泳池几点开",
    /// "可以养猫吗"). A bare "anytime" or "工作日晚上" is not.
    public static func readsAsQuestion(_ text: String) -> Bool {
        if text.contains("?") || text.contains("？") { return true }
        let lowered = text.lowercased()
        if chineseQuestionMarks.contains(where: { lowered.contains($0) }) { return true }
        let first = lowered.split(whereSeparator: { !$0.isLetter && $0 != "'" }).first.map(String.init)
        return first.map(questionStarts.contains) ?? false
    }

    // MARK: Choices and ticket numbers

    /// The option a resident picked from a numbered list of `count` options:
    /// `2`, `2)`, `#2`, `the second`, `第二个`, `二`. Zero-based.
    public static func choice(_ text: String, count: Int) -> Int? {
        let trimmed = text.lowercased().trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters))
        let ordinals = [["1", "one", "first", "the first", "第一个", "第一", "一"],
                        ["2", "two", "second", "the second", "第二个", "第二", "二"],
                        ["3", "three", "third", "the third", "第三个", "第三", "三"],
                        ["4", "four", "fourth", "the fourth", "第四个", "第四", "四"]]
        for (index, words) in ordinals.enumerated() where index < count {
            if words.contains(trimmed) || words.contains(where: { trimmed == "\($0) one" || trimmed == "option \($0)" }) {
                return index
            }
        }
        return nil
    }

    /// A ticket number in `text`: `#42`, `ticket 42`, `42号工单`, `工单42`.
    public static func ticketNumber(in text: String) -> Int? {
        let patterns = [#"#\s?([0-9]{1,7})\b"#, #"(?i)\b(?:ticket|request|no\.?)\s*#?\s*([0-9]{1,7})\b"#,
                        #"([0-9]{1,7})\s*号?(?:工单|报修单)"#, #"(?:工单|报修单)\s*#?\s*([0-9]{1,7})"#]
        for pattern in patterns {
            if let match = firstCapture(pattern, in: text), let number = Int(match) { return number }
        }
        return nil
    }

    /// The language a message is written in, or nil when it has no words of
    /// either (digits, `4B`, an emoji): then the conversation's language stands.
    public static func language(of text: String) -> Language? {
        if Language.detect(text) == .zh { return .zh }
        let words = text.split(whereSeparator: { !($0.isASCII && $0.isLetter) })
        return words.contains(where: { $0.count >= 2 }) ? .en : nil
    }

    // MARK: Helpers

    /// A lexicon word ready for matching: its scalars, and whether it is
    /// Chinese (matched anywhere) or not (matched as a whole word, plural `s` allowed).
    struct LexiconWord: Sendable {
        var text: String
        var scalars: [Unicode.Scalar]
        var chinese: Bool

        init(_ text: String) {
            self.text = text
            scalars = Array(text.unicodeScalars)
            chinese = Language.detect(text) == .zh
        }
    }

    /// `placeLexicon` prepared once: every message looks for every place.
    static let placeWords: [(id: String, common: Bool, words: [LexiconWord])] =
        placeLexicon.map { ($0.id, $0.common, $0.words.map(LexiconWord.init)) }

    /// True when `word` occurs in `lowered` (lower-cased scalars): anywhere
    /// for Chinese, else between non-alphanumerics (a plural `s` may follow
    /// words longer than three letters).
    static func containsWord(_ word: LexiconWord, in lowered: [Unicode.Scalar]) -> Bool {
        let needle = word.scalars
        guard !needle.isEmpty, needle.count <= lowered.count else { return false }
        func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
            scalar.properties.isAlphabetic || scalar.properties.numericType != nil
        }
        for start in 0...(lowered.count - needle.count) where lowered[start] == needle[0] {
            var matches = true
            for offset in 1..<needle.count where lowered[start + offset] != needle[offset] {
                matches = false
                break
            }
            guard matches else { continue }
            if word.chinese { return true }
            let end = start + needle.count
            let boundaryBefore = start == 0 || !isAlphanumeric(lowered[start - 1])
            let boundaryAfter = end == lowered.count || !isAlphanumeric(lowered[end])
                || (lowered[end] == "s" && needle.count > 3)
            if boundaryBefore && boundaryAfter { return true }
        }
        return false
    }

    /// Compiled patterns, by source: every message runs a dozen of them.
    nonisolated(unsafe) private static var compiled: [String: NSRegularExpression] = [:]
    private static let compiledLock = NSLock()

    static func regex(_ pattern: String) -> NSRegularExpression? {
        compiledLock.withLock {
            if let regex = compiled[pattern] { return regex }
            let regex = try? NSRegularExpression(pattern: pattern)
            compiled[pattern] = regex
            return regex
        }
    }

    static func firstCapture(_ pattern: String, in text: String) -> String? {
        guard let regex = regex(pattern) else { return nil }
        let range = NSRange(text.startIndex..., in: text)
        guard let match = regex.firstMatch(in: text, range: range), match.numberOfRanges > 1,
              let capture = Range(match.range(at: 1), in: text) else { return nil }
        return String(text[capture])
    }
}
