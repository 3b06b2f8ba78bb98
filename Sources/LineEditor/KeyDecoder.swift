/// One editing action decoded from terminal input.
enum EditKey: Equatable, Sendable {
    /// Printable text to insert at the cursor (one key, or a run of typed or pasted characters).
    case text(String)
    /// Enter / Return: submit the line.
    case enter
    /// Left arrow, Ctrl-B.
    case moveLeft
    /// Right arrow, Ctrl-F.
    case moveRight
    /// Ctrl-Left, Alt-B.
    case moveWordLeft
    /// Ctrl-Right, Alt-F.
    case moveWordRight
    /// Home, Ctrl-A.
    case moveToStart
    /// End, Ctrl-E.
    case moveToEnd
    /// Backspace (DEL or Ctrl-H).
    case deleteBackward
    /// Delete (`ESC [ 3 ~`).
    case deleteForward
    /// Ctrl-U: delete from the start of the line to the cursor.
    case deleteToStart
    /// Ctrl-K: delete from the cursor to the end of the line.
    case deleteToEnd
    /// Ctrl-W, Alt-Backspace: delete the word before the cursor.
    case deleteWordBackward
    /// Up arrow, Ctrl-P.
    case historyPrevious
    /// Down arrow, Ctrl-N.
    case historyNext
    /// Ctrl-L.
    case clearScreen
    /// Ctrl-D: end of input on an empty line, delete forward otherwise.
    case endOfFile
    /// Ctrl-C.
    case interrupt
}

/// Turns raw terminal bytes into `EditKey`s.
///
/// Input arrives in arbitrary chunks, so an escape sequence or a multi-byte
/// UTF-8 character may be split across reads; the decoder keeps the
/// incomplete tail and finishes it on the next call. Unknown control bytes,
/// unknown escape sequences and malformed UTF-8 are dropped, never fatal.
struct KeyDecoder {
    /// Bytes of an escape sequence or UTF-8 character not yet complete.
    private var incomplete: [UInt8] = []
    /// Whether the last byte decoded was a carriage return, so a following
    /// line feed (a pasted CR LF) is not a second Enter.
    private var lastByteWasCarriageReturn = false

    /// Escape sequences longer than this are garbage; they are dropped.
    private static let longestEscapeSequence = 32

    /// Whether bytes are waiting for the rest of their sequence. A terminal
    /// reader that sees no more input for a moment calls `flushIncomplete()`
    /// (a lone Escape key press looks like the start of a sequence).
    var hasIncompleteSequence: Bool { !incomplete.isEmpty }

    /// Decodes the bytes, returning the keys completed by them. Consecutive
    /// printable characters come back as one `.text`.
    mutating func decode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [EditKey] {
        incomplete.append(contentsOf: bytes)
        var keys: [EditKey] = []
        var position = 0
        while position < incomplete.count {
            guard let (key, length) = decodeOne(at: position) else { break }
            position += length
            guard let key else { continue }
            if case .text(let added) = key, case .text(let previous)? = keys.last {
                keys[keys.count - 1] = .text(previous + added)
            } else {
                keys.append(key)
            }
        }
        incomplete.removeFirst(position)
        return keys
    }

    /// Gives up on an incomplete sequence: a lone Escape is ignored, and so
    /// is a truncated UTF-8 character.
    mutating func flushIncomplete() {
        incomplete.removeAll()
    }

    /// Decodes one item starting at `position`: the key (nil for bytes that
    /// are ignored) and how many bytes it used, or nil when more bytes are needed.
    private mutating func decodeOne(at position: Int) -> (EditKey?, Int)? {
        let byte = incomplete[position]
        let followsCarriageReturn = lastByteWasCarriageReturn
        lastByteWasCarriageReturn = false
        switch byte {
        case 0x1B:
            return decodeEscape(at: position)
        case 0x0D:
            lastByteWasCarriageReturn = true
            return (.enter, 1)
        case 0x0A:
            return (followsCarriageReturn ? nil : .enter, 1)
        case 0x20..<0x7F:
            return (.text(String(UnicodeScalar(byte))), 1)
        case 0x7F, 0x08:
            return (.deleteBackward, 1)
        case 0x09:
            return (.text(" "), 1) // a tab becomes one space: columns stay predictable
        case 0x80...:
            return decodeUTF8(at: position)
        default:
            return (Self.controlKeys[byte], 1)
        }
    }

    /// Ctrl-letter bindings (byte = letter − 0x40).
    private static let controlKeys: [UInt8: EditKey] = [
        0x01: .moveToStart,        // Ctrl-A
        0x02: .moveLeft,           // Ctrl-B
        0x03: .interrupt,          // Ctrl-C
        0x04: .endOfFile,          // Ctrl-D
        0x05: .moveToEnd,          // Ctrl-E
        0x06: .moveRight,          // Ctrl-F
        0x0B: .deleteToEnd,        // Ctrl-K
        0x0C: .clearScreen,        // Ctrl-L
        0x0E: .historyNext,        // Ctrl-N
        0x10: .historyPrevious,    // Ctrl-P
        0x15: .deleteToStart,      // Ctrl-U
        0x17: .deleteWordBackward, // Ctrl-W
    ]

    private func decodeEscape(at position: Int) -> (EditKey?, Int)? {
        let available = incomplete.count - position
        guard available >= 2 else { return nil }
        let introducer = incomplete[position + 1]
        switch introducer {
        case UInt8(ascii: "["):
            // CSI: parameter bytes 0x30–0x3F, intermediate bytes 0x20–0x2F, one final byte 0x40–0x7E.
            var end = position + 2
            while end < incomplete.count, (0x20...0x3F).contains(incomplete[end]) { end += 1 }
            guard end < incomplete.count else {
                if end - position > Self.longestEscapeSequence { return (nil, end - position) }
                return nil
            }
            let final = incomplete[end]
            guard (0x40...0x7E).contains(final) else {
                return (nil, end - position) // malformed: drop what came before the stray byte
            }
            let parameters = String(decoding: incomplete[(position + 2)..<end], as: UTF8.self)
            return (Self.csiKey(parameters: parameters, final: final), end - position + 1)
        case UInt8(ascii: "O"):
            // SS3: ESC O and one letter, sent by some terminals for arrows and Home/End.
            guard available >= 3 else { return nil }
            return (Self.cursorKey(final: incomplete[position + 2], modified: false), 3)
        case 0x1B:
            return (nil, 1) // ESC ESC: the first one is a lone Escape press
        case UInt8(ascii: "b"), UInt8(ascii: "B"):
            return (.moveWordLeft, 2)
        case UInt8(ascii: "f"), UInt8(ascii: "F"):
            return (.moveWordRight, 2)
        case 0x7F, 0x08:
            return (.deleteWordBackward, 2)
        default:
            return (nil, 2) // other Alt-key combinations are not bound
        }
    }

    /// Keys for `ESC [ parameters final`.
    private static func csiKey(parameters: String, final: UInt8) -> EditKey? {
        if final == UInt8(ascii: "~") {
            let first = parameters.split(separator: ";").first.map(String.init) ?? ""
            switch first {
            case "1", "7": return .moveToStart
            case "4", "8": return .moveToEnd
            case "3": return .deleteForward
            default: return nil // Insert, Page Up/Down, function keys, bracketed paste markers
            }
        }
        // `1;5C` is Ctrl-Right, `1;3C` Alt-Right: move by word.
        let modifier = parameters.split(separator: ";").dropFirst().first.map(String.init)
        let modified = modifier == "3" || modifier == "5"
        return cursorKey(final: final, modified: modified)
    }

    /// Keys for the final letter of a cursor-key sequence.
    private static func cursorKey(final: UInt8, modified: Bool) -> EditKey? {
        switch final {
        case UInt8(ascii: "A"): return .historyPrevious
        case UInt8(ascii: "B"): return .historyNext
        case UInt8(ascii: "C"): return modified ? .moveWordRight : .moveRight
        case UInt8(ascii: "D"): return modified ? .moveWordLeft : .moveLeft
        case UInt8(ascii: "H"): return .moveToStart
        case UInt8(ascii: "F"): return .moveToEnd
        default: return nil
        }
    }

    /// One UTF-8 encoded scalar starting with a byte ≥ 0x80.
    private func decodeUTF8(at position: Int) -> (EditKey?, Int)? {
        let lead = incomplete[position]
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return (nil, 1) // a stray continuation byte or an invalid lead byte
        }
        var end = position + 1
        while end < position + length {
            guard end < incomplete.count else { return nil } // the rest is in a later read
            guard (0x80...0xBF).contains(incomplete[end]) else {
                return (nil, end - position) // truncated character: drop it, decode the next byte afresh
            }
            end += 1
        }
        var iterator = incomplete[position..<end].makeIterator()
        var utf8 = Unicode.UTF8()
        guard case .scalarValue(let scalar) = utf8.decode(&iterator),
              scalar.properties.generalCategory != .control else {
            return (nil, length) // overlong or surrogate encodings, C1 controls
        }
        return (.text(String(scalar)), length)
    }
}
