/// How many terminal columns text occupies.
///
/// A small approximation of `wcwidth`/`wcswidth` built on Unicode scalar
/// properties: East Asian Wide and Fullwidth characters (Chinese, Japanese,
/// Korean, fullwidth punctuation such as `，` and `。`) and emoji shown as
/// emoji take 2 columns; combining marks, format characters (zero-width joiner,
/// variation selectors) and control characters take 0; everything else takes 1.
/// Terminals disagree about some emoji sequences; this follows the common
/// behaviour of rendering a whole emoji cluster in 2 columns.
public enum DisplayWidth {
    /// The columns one Unicode scalar takes on its own (0, 1 or 2).
    public static func columns(of scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value == 0 { return 0 }
        if value < 0x7F { return value < 0x20 ? 0 : 1 }
        if value == 0x00AD { return 1 } // soft hyphen: format character, but terminals draw it
        if (0x1160...0x11FF).contains(value) { return 0 } // Hangul medial vowels and final consonants
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format, .control:
            return 0
        default:
            break
        }
        if isEastAsianWide(value) || scalar.properties.isEmojiPresentation { return 2 }
        return 1
    }

    /// The columns one user-perceived character (grapheme cluster) takes.
    ///
    /// A cluster with an emoji-presentation scalar or the emoji variation
    /// selector (U+FE0F) is drawn 2 columns wide; otherwise its scalars' widths
    /// add up (so a letter with combining accents is 1, a Hangul syllable
    /// spelt with conjoining jamo is 2).
    public static func columns(of character: Character) -> Int {
        var total = 0
        var drawnAsEmoji = false
        for scalar in character.unicodeScalars {
            if scalar.value == 0xFE0F || scalar.properties.isEmojiPresentation { drawnAsEmoji = true }
            total += columns(of: scalar)
        }
        return drawnAsEmoji ? 2 : total
    }

    /// The columns a string takes: the sum over its characters. `"水龙头"` is 6.
    public static func columns<Text: StringProtocol>(of text: Text) -> Int {
        var total = 0
        for character in text { total += columns(of: character) }
        return total
    }

    /// The columns a string takes once ANSI escape sequences (colour codes from
    /// `TerminalStyle`) are left out, as a prompt is measured.
    static func columns(ofStyledText text: String) -> Int {
        columns(of: TerminalStyle.removingEscapeSequences(from: text))
    }

    /// East Asian Wide (W) and Fullwidth (F) ranges, after Markus Kuhn's
    /// `wcwidth`, extended with the CJK extension planes.
    private static func isEastAsianWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F,   // Hangul leading consonants
             0x2329...0x232A,   // angle brackets
             0x2E80...0x303E,   // CJK radicals, Kangxi, CJK symbols and punctuation
             0x3041...0x33FF,   // Hiragana, Katakana, Bopomofo, Hangul compatibility, CJK compatibility
             0x3400...0x4DBF,   // CJK extension A
             0x4E00...0x9FFF,   // CJK unified ideographs
             0xA000...0xA4CF,   // Yi
             0xA960...0xA97F,   // Hangul jamo extended A
             0xAC00...0xD7A3,   // Hangul syllables
             0xF900...0xFAFF,   // CJK compatibility ideographs
             0xFE10...0xFE19,   // vertical forms
             0xFE30...0xFE6F,   // CJK compatibility forms, small form variants
             0xFF00...0xFF60,   // fullwidth forms
             0xFFE0...0xFFE6,   // fullwidth signs
             0x1F200...0x1F2FF, // enclosed ideographic supplement
             0x20000...0x2FFFD, // CJK extensions B–F
             0x30000...0x3FFFD: // CJK extension G and later
            return true
        default:
            return false
        }
    }
}
