import Testing
@testable import LineEditor

/// Feeds input chunks (each one `read()`) through a decoder into a session.
struct EditingHarness {
    let decoder = ReferenceDecoder()
    var session: LineEditSession
    var outcomes: [LineEditSession.Outcome] = []

    init(history: [String] = []) {
        session = LineEditSession(history: history)
    }

    mutating func type(_ chunks: String...) {
        for chunk in chunks { feed(Array(chunk.utf8)) }
    }

    mutating func feed(_ bytes: [UInt8]) {
        for key in decoder.decode(bytes) { outcomes.append(session.apply(key)) }
    }

    var text: String { session.buffer.text }
    var cursor: Int { session.buffer.cursor }
}

/// A `KeyDecoder` behind a reference, so `#expect` can call its mutating methods.
final class ReferenceDecoder {
    private var decoder = KeyDecoder()
    func decode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [EditKey] { decoder.decode(bytes) }
    func flushIncomplete() { decoder.flushIncomplete() }
    var hasIncompleteSequence: Bool { decoder.hasIncompleteSequence }
}

@Suite("Key decoding")
struct KeyDecoderTests {
    @Test func printableRunsBecomeOneTextKey() {
        let decoder = ReferenceDecoder()
        #expect(decoder.decode(Array("abc".utf8)) == [.text("abc")])
        #expect(decoder.decode(Array("水龙头".utf8)) == [.text("水龙头")])
    }

    @Test func cursorAndEditingEscapeSequences() {
        let decoder = ReferenceDecoder()
        let cases: [(String, EditKey)] = [
            ("\u{1B}[D", .moveLeft), ("\u{1B}[C", .moveRight),
            ("\u{1B}[A", .historyPrevious), ("\u{1B}[B", .historyNext),
            ("\u{1B}[H", .moveToStart), ("\u{1B}[F", .moveToEnd),
            ("\u{1B}OH", .moveToStart), ("\u{1B}OF", .moveToEnd), ("\u{1B}OD", .moveLeft),
            ("\u{1B}[1~", .moveToStart), ("\u{1B}[7~", .moveToStart),
            ("\u{1B}[4~", .moveToEnd), ("\u{1B}[8~", .moveToEnd),
            ("\u{1B}[3~", .deleteForward),
            ("\u{1B}[1;5D", .moveWordLeft), ("\u{1B}[1;5C", .moveWordRight),
            ("\u{1B}b", .moveWordLeft), ("\u{1B}f", .moveWordRight), ("\u{1B}\u{7F}", .deleteWordBackward),
        ]
        for (bytes, key) in cases {
            #expect(decoder.decode(Array(bytes.utf8)) == [key], "\(bytes.debugDescription)")
            #expect(!decoder.hasIncompleteSequence)
        }
    }

    @Test func controlKeys() {
        let decoder = ReferenceDecoder()
        let keys = decoder.decode([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x0B, 0x0C, 0x0E, 0x10, 0x15, 0x17, 0x7F])
        #expect(keys == [
            .moveToStart, .moveLeft, .interrupt, .endOfFile, .moveToEnd, .moveRight, .deleteBackward,
            .deleteToEnd, .clearScreen, .historyNext, .historyPrevious, .deleteToStart, .deleteWordBackward,
            .deleteBackward,
        ])
    }

    @Test func escapeSequenceSplitAcrossReads() {
        let decoder = ReferenceDecoder()
        #expect(decoder.decode([0x1B]).isEmpty)
        #expect(decoder.hasIncompleteSequence)
        #expect(decoder.decode(Array("[".utf8)).isEmpty)
        #expect(decoder.decode(Array("3".utf8)).isEmpty)
        #expect(decoder.decode(Array("~x".utf8)) == [.deleteForward, .text("x")])
        #expect(!decoder.hasIncompleteSequence)
    }

    @Test func chineseSplitAcrossReadsInsideACharacter() {
        let decoder = ReferenceDecoder()
        let bytes = Array("水龙头".utf8) // 9 bytes, 3 per character
        #expect(decoder.decode(bytes[0..<2]) .isEmpty)
        #expect(decoder.decode(bytes[2..<4]) == [.text("水")])
        #expect(decoder.decode(bytes[4..<8]) == [.text("龙")])
        #expect(decoder.hasIncompleteSequence)
        #expect(decoder.decode(bytes[8..<9]) == [.text("头")])
        #expect(!decoder.hasIncompleteSequence)
    }

    @Test func unknownSequencesAndMalformedBytesAreDropped() {
        let decoder = ReferenceDecoder()
        // F5, Page Up, bracketed-paste start, an unbound Alt key, a stray continuation byte,
        // a truncated 3-byte character, an invalid lead byte, C1 control.
        var bytes = Array("\u{1B}[15~\u{1B}[5~\u{1B}[200~\u{1B}x".utf8)
        bytes += [0x80, 0xE6, 0xB0, 0x41, 0xFF, 0xC2, 0x85, 0x07]
        #expect(decoder.decode(bytes) == [.text("A")])
        #expect(!decoder.hasIncompleteSequence)
    }

    @Test func loneEscapeIsFlushedAfterATimeout() {
        let decoder = ReferenceDecoder()
        #expect(decoder.decode([0x1B]).isEmpty)
        decoder.flushIncomplete()
        #expect(decoder.decode(Array("a".utf8)) == [.text("a")])
    }

    @Test func carriageReturnLineFeedIsOneEnter() {
        let decoder = ReferenceDecoder()
        #expect(decoder.decode(Array("a\r\nb\n\n".utf8)) == [.text("a"), .enter, .text("b"), .enter, .enter])
        #expect(decoder.decode(Array("\r".utf8)) == [.enter])
        #expect(decoder.decode(Array("\n".utf8)).isEmpty, "CR then LF in the next read is still one Enter")
    }
}

@Suite("Line editing")
struct LineEditingTests {
    @Test func arrowKeysAndInsertion() {
        var editor = EditingHarness()
        editor.type("abc", "\u{1B}[D", "\u{1B}[D", "X")
        #expect(editor.text == "aXbc")
        #expect(editor.cursor == 2)
        editor.type("\r")
        #expect(editor.outcomes.last == .submit("aXbc"))
    }

    @Test func homeEndDeleteAndBackspace() {
        var editor = EditingHarness()
        editor.type("hello", "\u{1B}OH", "\u{1B}[3~")
        #expect(editor.text == "ello")
        #expect(editor.cursor == 0)
        editor.type("\u{05}", "\u{7F}") // Ctrl-E, Backspace
        #expect(editor.text == "ell")
        #expect(editor.cursor == 3)
        editor.type("\u{01}", "J", "\u{1B}[4~", "!")
        #expect(editor.text == "Jell!")
        #expect(editor.cursor == 5)
    }

    @Test func chineseIsEditedByCharacterWithWideColumns() {
        var editor = EditingHarness()
        editor.type("厨房水龙头漏水了")
        editor.type("\u{1B}[D", "\u{1B}[D", "\u{1B}[D", "\u{7F}")
        #expect(editor.text == "厨房水龙漏水了")
        #expect(editor.cursor == 4)
        #expect(editor.session.buffer.cursorColumn == 8)
        editor.type("\u{1B}[D", "a")
        #expect(editor.text == "厨房水a龙漏水了")
        #expect(editor.session.buffer.cursorColumn == 7)
    }

    @Test func chineseSplitAcrossReadsIsInsertedWhole() {
        var editor = EditingHarness()
        let bytes = Array("漏水了".utf8)
        editor.feed(Array(bytes[0..<1]))
        editor.feed(Array(bytes[1..<5]))
        editor.feed(Array(bytes[5...]))
        #expect(editor.text == "漏水了")
        #expect(editor.cursor == 3)
    }

    @Test func combiningMarkTypedSeparatelyJoinsItsLetter() {
        var editor = EditingHarness()
        editor.type("cafe", "\u{301}")
        #expect(editor.text == "café")
        #expect(editor.cursor == 4)
        #expect(editor.session.buffer.cursorColumn == 4)
        editor.type("\u{7F}")
        #expect(editor.text == "caf", "backspace removes the whole accented letter")
    }

    @Test func killToStartAndToEnd() {
        var editor = EditingHarness()
        editor.type("my sink leaks", "\u{1B}[D", "\u{1B}[D", "\u{1B}[D", "\u{1B}[D", "\u{1B}[D")
        editor.type("\u{0B}") // Ctrl-K
        #expect(editor.text == "my sink ")
        editor.type("\u{1B}[D", "\u{15}") // Ctrl-U
        #expect(editor.text == " ")
        #expect(editor.cursor == 0)
    }

    @Test func deleteWordOnMixedText() {
        var editor = EditingHarness()
        editor.type("unit 1203 厨房水龙头leaks  ")
        editor.type("\u{17}")
        #expect(editor.text == "unit 1203 厨房水龙头")
        editor.type("\u{17}")
        #expect(editor.text == "unit 1203 ")
        editor.type("\u{17}")
        #expect(editor.text == "unit ")
        editor.type("\u{1B}[D", "\u{1B}[D", "\u{1B}[D", "\u{17}")
        #expect(editor.text == "it ", "only what is before the cursor goes")
        #expect(editor.cursor == 0)
        editor.type("\u{17}")
        #expect(editor.text == "it ")
        #expect(editor.outcomes.last == .unchanged)
    }

    @Test func wordMovement() {
        var editor = EditingHarness()
        editor.type("fix 水龙头 now")
        editor.type("\u{1B}b")
        #expect(editor.cursor == 8)
        editor.type("\u{1B}[1;5D")
        #expect(editor.cursor == 4)
        editor.type("\u{1B}f")
        #expect(editor.cursor == 7)
    }

    @Test func controlDEndsInputOnlyOnAnEmptyLine() {
        var editor = EditingHarness()
        editor.type("ab", "\u{01}", "\u{04}")
        #expect(editor.text == "b")
        #expect(editor.outcomes.last == .redraw)
        editor.type("\u{04}", "\u{04}")
        #expect(editor.outcomes.last == .endOfInput)
    }

    @Test func controlCAndControlL() {
        var editor = EditingHarness()
        editor.type("abc", "\u{0C}")
        #expect(editor.outcomes.last == .clearScreen)
        #expect(editor.text == "abc")
        editor.type("\u{03}")
        #expect(editor.outcomes.last == .interrupted)
    }

    @Test func historyNavigationKeepsTheDraft() {
        var editor = EditingHarness(history: ["first", "second"])
        editor.type("dra")
        editor.type("\u{1B}[A")
        #expect(editor.text == "second")
        #expect(editor.cursor == 6)
        editor.type("\u{1B}[A")
        #expect(editor.text == "first")
        editor.type("\u{1B}[A")
        #expect(editor.text == "first")
        #expect(editor.outcomes.last == .unchanged)
        editor.type("!", "\u{1B}[B", "\u{1B}[A")
        #expect(editor.text == "first!", "edits to a recalled entry last while browsing")
        editor.type("\u{1B}[B", "\u{1B}[B")
        #expect(editor.text == "dra")
        editor.type("\u{1B}[B")
        #expect(editor.outcomes.last == .unchanged)
        editor.type("\u{10}", "\r") // Ctrl-P, Enter
        #expect(editor.outcomes.last == .submit("second"))
    }
}

@Suite("Display width")
struct DisplayWidthTests {
    @Test func widths() {
        #expect(DisplayWidth.columns(of: "水龙头") == 6)
        #expect(DisplayWidth.columns(of: "sink") == 4)
        #expect(DisplayWidth.columns(of: "电梯又坏了 help") == 15)
        #expect(DisplayWidth.columns(of: "，。") == 4, "fullwidth punctuation")
        #expect(DisplayWidth.columns(of: "e\u{301}") == 1, "combining mark")
        #expect(DisplayWidth.columns(of: "한국") == 4)
        #expect(DisplayWidth.columns(of: "😡") == 2)
        #expect(DisplayWidth.columns(of: "👍🏽") == 2, "emoji with a skin-tone modifier")
        #expect(DisplayWidth.columns(of: "❤️") == 2, "emoji variation selector")
        #expect(DisplayWidth.columns(of: "a\u{200B}b") == 2, "zero-width space")
        #expect(DisplayWidth.columns(of: "ｱ") == 1, "halfwidth katakana")
    }

    @Test func styledPromptIsMeasuredWithoutEscapes() {
        let prompt = TerminalStyle(isEnabled: true).cyan("住户") + " > "
        #expect(DisplayWidth.columns(ofStyledText: prompt) == 7)
    }
}

@Suite("Horizontal scrolling")
struct HorizontalWindowTests {
    @Test func shortLineIsShownWhole() {
        var window = HorizontalWindow()
        let (visible, column) = window.update(buffer: LineBuffer(text: "abc"), width: 10)
        #expect(visible == 0..<3)
        #expect(column == 3)
    }

    @Test func cursorStaysVisibleInALongLine() {
        var window = HorizontalWindow()
        var buffer = LineBuffer(text: String(repeating: "abcdefghij", count: 5))
        var (visible, column) = window.update(buffer: buffer, width: 10)
        #expect(visible == 40..<50)
        #expect(column == 10)
        buffer.moveToStart()
        (visible, column) = window.update(buffer: buffer, width: 10)
        #expect(visible == 0..<10)
        #expect(column == 0)
        for _ in 0..<12 { buffer.moveRight() }
        (visible, column) = window.update(buffer: buffer, width: 10)
        #expect(visible.contains(12))
        #expect(column <= 9)
    }

    @Test func wideCharactersNeverOverflow() {
        var window = HorizontalWindow()
        let buffer = LineBuffer(text: String(repeating: "水龙头", count: 10))
        for width in 1...12 {
            let (visible, column) = window.update(buffer: buffer, width: width)
            let shown = DisplayWidth.columns(of: String(buffer.characters[visible]))
            #expect(shown <= width)
            #expect(column <= max(width, 1))
            #expect(visible.upperBound == buffer.characters.count || width < 2)
        }
    }

    @Test func shrinkingLineScrollsBack() {
        var window = HorizontalWindow()
        var buffer = LineBuffer(text: String(repeating: "x", count: 30))
        _ = window.update(buffer: buffer, width: 10)
        #expect(window.firstVisible > 0)
        for _ in 0..<25 { buffer.deleteBackward() }
        let (visible, column) = window.update(buffer: buffer, width: 10)
        #expect(visible == 0..<5)
        #expect(column == 5)
    }
}
