/// The editing state machine for one prompt: keys in, buffer changes and
/// outcomes out. History navigation works on a snapshot of the history taken
/// when the prompt starts; edits to a recalled entry last until the line is
/// submitted and never change the saved history.
struct LineEditSession {
    /// What the terminal side has to do after a key.
    enum Outcome: Equatable {
        /// The key changed nothing (e.g. Left at the start of the line).
        case unchanged
        /// The line or cursor changed: redraw it.
        case redraw
        /// Ctrl-L: clear the screen, then redraw.
        case clearScreen
        /// Enter: the line is finished.
        case submit(String)
        /// Ctrl-D on an empty line.
        case endOfInput
        /// Ctrl-C.
        case interrupted
    }

    /// The line being edited.
    private(set) var buffer = LineBuffer()
    /// History entries (oldest first) followed by the line being typed; edited
    /// copies live here while browsing.
    private var entries: [String]
    /// Which of `entries` the buffer shows; `entries.count - 1` is the new line.
    private var shownEntry: Int

    /// A session over a snapshot of the history, oldest entry first.
    init(history: [String]) {
        entries = history + [""]
        shownEntry = history.count
    }

    /// Applies one key.
    mutating func apply(_ key: EditKey) -> Outcome {
        switch key {
        case .text(let text):
            buffer.insert(text)
            return .redraw
        case .enter:
            return .submit(buffer.text)
        case .moveLeft: return changed(buffer.moveLeft())
        case .moveRight: return changed(buffer.moveRight())
        case .moveWordLeft: return changed(buffer.moveWordLeft())
        case .moveWordRight: return changed(buffer.moveWordRight())
        case .moveToStart: return changed(buffer.moveToStart())
        case .moveToEnd: return changed(buffer.moveToEnd())
        case .deleteBackward: return changed(buffer.deleteBackward())
        case .deleteForward: return changed(buffer.deleteForward())
        case .deleteToStart: return changed(buffer.deleteToStart())
        case .deleteToEnd: return changed(buffer.deleteToEnd())
        case .deleteWordBackward: return changed(buffer.deleteWordBackward())
        case .historyPrevious: return changed(showEntry(shownEntry - 1))
        case .historyNext: return changed(showEntry(shownEntry + 1))
        case .clearScreen:
            return .clearScreen
        case .endOfFile:
            if buffer.characters.isEmpty { return .endOfInput }
            return changed(buffer.deleteForward())
        case .interrupt:
            return .interrupted
        }
    }

    private func changed(_ didChange: Bool) -> Outcome {
        didChange ? .redraw : .unchanged
    }

    /// Shows another history entry, keeping the edits made to the one left.
    private mutating func showEntry(_ index: Int) -> Bool {
        guard entries.indices.contains(index) else { return false }
        entries[shownEntry] = buffer.text
        shownEntry = index
        buffer.replaceAll(with: entries[index])
        return true
    }
}
