import CICU

/// Text after normalization, with the way back to the original.
///
/// `units[i]` is a UTF-16 code unit of the normalized text; it came from the
/// original UTF-16 range `originStart[i] ..< originEnd[i]`. Several normalized
/// units can share one origin (a ligature "ﬁ" becomes "fi"), and one unit can
/// stand for several original ones (a base letter plus combining accent).
public struct NormalizedText: Sendable, Equatable {
    /// The normalized text as UTF-16 code units.
    public var units: [UInt16]
    /// For each normalized unit, the first original UTF-16 offset it came from.
    public var originStart: [Int32]
    /// For each normalized unit, the original UTF-16 offset just past its source.
    public var originEnd: [Int32]

    /// The normalized text as a String.
    public var text: String { String(decoding: units, as: UTF16.self) }
}

/// Unicode NFKC with case folding (through the system ICU), plus Concierge's
/// own rules, applied to every message before it is segmented:
///
/// - NFKC_Casefold: full-width forms (`Ｔｈｅ` → `the`), ligatures (`ﬁ` → `fi`),
///   compatibility characters (`①` → `1`, `㎡` → `m2`), case (`KITCHEN` →
///   `kitchen`, `ß` → `ss`), and removal of default-ignorable characters
///   (zero-width joiners, variation selectors, soft hyphens).
/// - Chinese punctuation to its ASCII counterpart (`。` → `.`, `、` → `,`,
///   `【】` → `[]`, `“”「」《》` → `"`), typographic quotes and dashes likewise.
/// - Every kind of whitespace becomes one ASCII space; control characters and
///   U+FFFD (what invalid input was repaired to) are removed.
///
/// Normalization never fails on valid Swift strings: invalid UTF-8 and lone
/// UTF-16 surrogates are repaired when the String is created.
public enum TextNormalizer {
    /// Normalizes UTF-16 `source`, keeping the origin of every output unit.
    public static func normalize(utf16 source: UnsafeBufferPointer<UInt16>, into result: inout NormalizedText) {
        let count = source.count
        var capacity = 3 * count + 16
        while true {
            if result.units.count < capacity {
                result.units = [UInt16](repeating: 0, count: capacity)
                result.originStart = [Int32](repeating: 0, count: capacity)
                result.originEnd = [Int32](repeating: 0, count: capacity)
            }
            let written = result.units.withUnsafeMutableBufferPointer { units in
                result.originStart.withUnsafeMutableBufferPointer { starts in
                    result.originEnd.withUnsafeMutableBufferPointer { ends in
                        cicu_normalize(source.baseAddress, Int32(count), units.baseAddress,
                                       starts.baseAddress, ends.baseAddress, Int32(units.count))
                    }
                }
            }
            if written >= 0 {
                result.units.removeSubrange(Int(written)...)
                result.originStart.removeSubrange(Int(written)...)
                result.originEnd.removeSubrange(Int(written)...)
                return
            }
            // -1: NFKC can expand one code unit into at most 18 (U+FDFA).
            // -2: ICU itself failed; leave the text as it came, lowercased by nothing.
            if written == -2 || capacity >= 18 * count + 16 {
                result.units = Array(source)
                result.originStart = (0..<count).map { Int32($0) }
                result.originEnd = (0..<count).map { Int32($0 + 1) }
                return
            }
            capacity = 18 * count + 16
        }
    }

    /// Normalizes `text`; offsets in the result refer to `text.utf16`.
    public static func normalize(_ text: String) -> NormalizedText {
        var result = NormalizedText(units: [], originStart: [], originEnd: [])
        let source = Array(text.utf16)
        source.withUnsafeBufferPointer { normalize(utf16: $0, into: &result) }
        return result
    }

    /// The normalized form of `text` as a plain String (for comparisons, e.g.
    /// finding duplicate examples in the data pack).
    public static func normalizedString(_ text: String) -> String {
        normalize(text).text
    }

    /// The version of the ICU library in use.
    public static var icuVersion: String { String(cString: cicu_version()) }
}
