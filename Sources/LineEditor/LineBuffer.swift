/// The text being edited and the cursor within it, with the editing
/// operations keys map to. Pure state: no terminal involved.
///
/// The cursor counts user-perceived characters (grapheme clusters), so a
/// Chinese character, an accented letter typed as letter + combining mark, or
/// an emoji is one step for the arrow keys and Backspace.
struct LineBuffer: Equatable {
    /// The characters of the line.
    private(set) var characters: [Character]
    /// The cursor: the number of characters before it, `0...characters.count`.
    private(set) var cursor: Int

    /// A line holding `text`, cursor at the end.
    init(text: String = "") {
        characters = Array(text)
        cursor = characters.count
    }

    /// The line as a string.
    var text: String { String(characters) }

    /// The display columns before the cursor.
    var cursorColumn: Int { DisplayWidth.columns(of: String(characters[..<cursor])) }

    /// Inserts text at the cursor and moves the cursor past it. A combining
    /// mark joins the character before the cursor, as it does on screen.
    mutating func insert(_ inserted: String) {
        guard !inserted.isEmpty else { return }
        let before = String(characters[..<cursor]) + inserted
        let after = String(characters[cursor...])
        let beforeCount = before.count
        characters = Array(before + after)
        // Joining `after` could merge a character across the boundary; keep the cursor in range.
        cursor = min(beforeCount, characters.count)
    }

    /// Replaces the whole line (a recalled history entry), cursor at the end.
    mutating func replaceAll(with text: String) {
        characters = Array(text)
        cursor = characters.count
    }

    // MARK: Moving

    /// Returns false when the cursor was already at the start.
    @discardableResult mutating func moveLeft() -> Bool {
        guard cursor > 0 else { return false }
        cursor -= 1
        return true
    }

    /// Returns false when the cursor was already at the end.
    @discardableResult mutating func moveRight() -> Bool {
        guard cursor < characters.count else { return false }
        cursor += 1
        return true
    }

    @discardableResult mutating func moveToStart() -> Bool {
        guard cursor > 0 else { return false }
        cursor = 0
        return true
    }

    @discardableResult mutating func moveToEnd() -> Bool {
        guard cursor < characters.count else { return false }
        cursor = characters.count
        return true
    }

    /// Moves to the start of the word before the cursor (see `startOfWord(before:)`).
    @discardableResult mutating func moveWordLeft() -> Bool {
        let target = startOfWord(before: cursor)
        guard target != cursor else { return false }
        cursor = target
        return true
    }

    /// Moves to the end of the word after the cursor.
    @discardableResult mutating func moveWordRight() -> Bool {
        var position = cursor
        while position < characters.count, characters[position].isWhitespace { position += 1 }
        if position < characters.count {
            let kind = WordKind(characters[position])
            while position < characters.count, WordKind(characters[position]) == kind { position += 1 }
        }
        guard position != cursor else { return false }
        cursor = position
        return true
    }

    // MARK: Deleting

    /// Backspace: deletes the character before the cursor.
    @discardableResult mutating func deleteBackward() -> Bool {
        guard cursor > 0 else { return false }
        characters.remove(at: cursor - 1)
        cursor -= 1
        return true
    }

    /// Delete: deletes the character under the cursor.
    @discardableResult mutating func deleteForward() -> Bool {
        guard cursor < characters.count else { return false }
        characters.remove(at: cursor)
        return true
    }

    /// Ctrl-U: deletes everything before the cursor.
    @discardableResult mutating func deleteToStart() -> Bool {
        guard cursor > 0 else { return false }
        characters.removeSubrange(0..<cursor)
        cursor = 0
        return true
    }

    /// Ctrl-K: deletes everything from the cursor on.
    @discardableResult mutating func deleteToEnd() -> Bool {
        guard cursor < characters.count else { return false }
        characters.removeSubrange(cursor...)
        return true
    }

    /// Ctrl-W: deletes the word before the cursor and the spaces between it and the cursor.
    @discardableResult mutating func deleteWordBackward() -> Bool {
        let start = startOfWord(before: cursor)
        guard start < cursor else { return false }
        characters.removeSubrange(start..<cursor)
        cursor = start
        return true
    }

    /// Where the word before `position` starts: skip whitespace backwards,
    /// then characters of the same kind. Two kinds of word characters are
    /// told apart — wide (CJK) and everything else — so in `修理sink` one
    /// Ctrl-W takes `sink` and the next takes `修理`. Chinese written without
    /// spaces is otherwise one word up to the previous space or Latin text.
    private func startOfWord(before position: Int) -> Int {
        var start = position
        while start > 0, characters[start - 1].isWhitespace { start -= 1 }
        guard start > 0 else { return start }
        let kind = WordKind(characters[start - 1])
        while start > 0, WordKind(characters[start - 1]) == kind { start -= 1 }
        return start
    }
}

/// Word classes for word-wise movement and deletion.
private enum WordKind: Equatable {
    case whitespace, wide, narrow

    init(_ character: Character) {
        if character.isWhitespace {
            self = .whitespace
        } else if DisplayWidth.columns(of: character) == 2 {
            self = .wide
        } else {
            self = .narrow
        }
    }
}

/// Which part of a line too long for the terminal is shown: a window that
/// scrolls horizontally to keep the cursor visible.
struct HorizontalWindow: Equatable {
    /// The first character shown.
    private(set) var firstVisible = 0

    /// Scrolls so the cursor (and the character under it) fits in `width`
    /// columns, showing as much of the line as fits; returns the visible
    /// character range and the cursor's column within the window.
    mutating func update(buffer: LineBuffer, width: Int) -> (visible: Range<Int>, cursorColumn: Int) {
        let widths = buffer.characters.map { DisplayWidth.columns(of: $0) }
        var prefix = [0]
        prefix.reserveCapacity(widths.count + 1)
        for width in widths { prefix.append(prefix.last! + width) }
        func columns(_ range: Range<Int>) -> Int { prefix[range.upperBound] - prefix[range.lowerBound] }

        let count = widths.count
        let cursor = buffer.cursor
        let available = max(width, 1)
        firstVisible = min(firstVisible, cursor)
        // The cursor, and the character under it, must fit.
        let underCursor = cursor < count ? widths[cursor] : 0
        while firstVisible < cursor, columns(firstVisible..<cursor) + underCursor > available {
            firstVisible += 1
        }
        // When the line got shorter, scroll back to show more of its start.
        while firstVisible > 0, columns((firstVisible - 1)..<count) <= available {
            firstVisible -= 1
        }
        var end = firstVisible
        while end < count, columns(firstVisible..<(end + 1)) <= available { end += 1 }
        return (firstVisible..<end, columns(firstVisible..<cursor))
    }
}
