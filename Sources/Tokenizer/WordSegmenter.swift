import CICU

/// What kind of word a segment of normalized text is. The kind decides how
/// WordPiece splits it.
public enum WordKind: UInt8, Sendable, Codable {
    /// Punctuation or a symbol: one token per character (`!`, `#`, `,`).
    case punctuation = 1
    /// Digits, possibly with separators (`12`, `3.5`, `1,200`).
    case number = 2
    /// Letters, or letters mixed with digits (`kitchen`, `4b`, `don't`).
    case word = 3
    /// Chinese (or Japanese) found by ICU's dictionary (`水龙头`).
    case ideographic = 4
    /// An emoji.
    case emoji = 5
    /// A URL or an email address, kept whole as one word.
    case link = 6
}

/// A word of the normalized text: `units[start..<end]`.
public struct Word: Sendable, Equatable {
    public var start: Int
    public var end: Int
    public var kind: WordKind
}

/// ICU word-break segmentation of normalized text.
///
/// - English splits on words; apostrophes stay inside (`don't`), letters and
///   digits stay together (`4b`, `b12`).
/// - Chinese is segmented by ICU's dictionary: `厨房水龙头漏水了` → `厨房 / 水龙头 /
///   漏水 / 了`.
/// - Numbers stay whole (`1203`, `3.5`); `#12` is the symbol `#` followed by
///   the number `12`, so "number sign" keeps its meaning.
/// - Each emoji is a word of its own; each punctuation mark too.
/// - URLs (`http://…`, `https://…`, `www.…`) and email addresses are kept whole
///   as one `link` word instead of being broken at every `/`, `.` and `@`.
/// - Whitespace separates words and is never a token.
///
/// A segmenter holds an ICU iterator and scratch buffers: use one per thread.
public final class WordSegmenter {
    private let handle: OpaquePointer?
    private var starts: [Int32] = []
    private var ends: [Int32] = []
    private var kinds: [UInt8] = []

    public init() {
        handle = cicu_segmenter_open()
    }

    deinit {
        cicu_segmenter_close(handle)
    }

    /// The words of `units`, in order. `words` is cleared first.
    public func segment(_ units: UnsafeBufferPointer<UInt16>, into words: inout [Word]) {
        words.removeAll(keepingCapacity: true)
        let count = units.count
        guard count > 0 else { return }
        if starts.count < count {
            starts = [Int32](repeating: 0, count: count)
            ends = [Int32](repeating: 0, count: count)
            kinds = [UInt8](repeating: 0, count: count)
        }
        let segmentCount = starts.withUnsafeMutableBufferPointer { starts in
            ends.withUnsafeMutableBufferPointer { ends in
                kinds.withUnsafeMutableBufferPointer { kinds in
                    cicu_segment(handle, units.baseAddress, Int32(count), starts.baseAddress,
                                 ends.baseAddress, kinds.baseAddress, Int32(count))
                }
            }
        }
        guard segmentCount >= 0 else {
            // ICU could not segment: fall back to whitespace splitting.
            Self.splitOnSpaces(units, into: &words)
            return
        }
        let links = Self.linkSpans(units)
        var linkIndex = 0
        var index = 0
        while index < Int(segmentCount) {
            let start = Int(starts[index])
            while linkIndex < links.count && links[linkIndex].upperBound <= start { linkIndex += 1 }
            if linkIndex < links.count && links[linkIndex].contains(start) {
                let link = links[linkIndex]
                words.append(Word(start: link.lowerBound, end: link.upperBound, kind: .link))
                while index < Int(segmentCount) && Int(starts[index]) < link.upperBound { index += 1 }
                linkIndex += 1
                continue
            }
            let kind = kinds[index]
            if kind != UInt8(CICU_SEGMENT_SPACE), let wordKind = WordKind(rawValue: kind) {
                let end = Int(ends[index])
                if wordKind == .punctuation && end - start > 1 {
                    // ICU keeps runs of some symbols together; split to characters.
                    var position = start
                    while position < end {
                        let width = UTF16.isLeadSurrogate(units[position]) && position + 1 < end ? 2 : 1
                        words.append(Word(start: position, end: position + width, kind: .punctuation))
                        position += width
                    }
                } else {
                    words.append(Word(start: start, end: end, kind: wordKind))
                }
            }
            index += 1
        }
    }

    private static func splitOnSpaces(_ units: UnsafeBufferPointer<UInt16>, into words: inout [Word]) {
        var start: Int? = nil
        for index in 0...units.count {
            let isSpace = index == units.count || units[index] == 0x20
            if isSpace, let wordStart = start {
                words.append(Word(start: wordStart, end: index, kind: .word))
                start = nil
            } else if !isSpace && start == nil {
                start = index
            }
        }
    }

    /// Spans of URLs and email addresses in normalized (lowercased) text.
    static func linkSpans(_ units: UnsafeBufferPointer<UInt16>) -> [Range<Int>] {
        var spans: [Range<Int>] = []
        let count = units.count
        var index = 0
        func isSpace(_ unit: UInt16) -> Bool { unit == 0x20 }
        func isWordUnit(_ unit: UInt16) -> Bool {
            (unit >= 0x61 && unit <= 0x7A) || (unit >= 0x30 && unit <= 0x39) || unit == 0x2D || unit == 0x5F || unit == 0x2E || unit == 0x2B
        }
        func matches(_ prefix: String, at position: Int) -> Bool {
            var offset = position
            for unit in prefix.utf16 {
                guard offset < count, units[offset] == unit else { return false }
                offset += 1
            }
            return true
        }
        /// Trims trailing punctuation that ends a sentence rather than the link.
        func trimmedEnd(_ start: Int, _ end: Int) -> Int {
            var end = end
            while end > start, let last = Optional(units[end - 1]),
                  last == 0x2E || last == 0x2C || last == 0x21 || last == 0x3F || last == 0x29 || last == 0x22 || last == 0x27 || last == 0x3A || last == 0x3B {
                end -= 1
            }
            return end
        }
        while index < count {
            let atWordStart = index == 0 || isSpace(units[index - 1]) || !isWordUnit(units[index - 1])
            if atWordStart && (matches("http://", at: index) || matches("https://", at: index) || matches("www.", at: index)) {
                var end = index
                while end < count && !isSpace(units[end]) && units[end] < 0x80 { end += 1 }
                end = trimmedEnd(index, end)
                spans.append(index..<end)
                index = end
                continue
            }
            if units[index] == 0x40, index > 0, index + 1 < count, isWordUnit(units[index - 1]), isWordUnit(units[index + 1]) {
                // An email: extend left and right over address characters.
                var start = index
                while start > 0 && isWordUnit(units[start - 1]) { start -= 1 }
                var end = index + 1
                while end < count && isWordUnit(units[end]) { end += 1 }
                end = trimmedEnd(index + 1, end)
                let domain = units[(index + 1)..<end]
                if domain.contains(0x2E), spans.last.map({ $0.upperBound <= start }) ?? true {
                    spans.append(start..<end)
                    index = end
                    continue
                }
            }
            index += 1
        }
        return spans
    }
}
