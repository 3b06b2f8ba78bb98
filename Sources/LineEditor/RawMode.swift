// Linux (Glibc) only: the sigaction and termios layouts used here are Glibc's.
import Glibc

/// What the signal and exit handlers need to put a terminal back the way it was.
/// Lives in manually allocated memory so handlers touch it without Swift's
/// lazy-global or exclusivity machinery.
struct RawModeRecord {
    /// The terminal in raw mode, or -1 when none is.
    var fileDescriptor: Int32
    /// Its settings before raw mode.
    var originalSettings: termios
    /// The dispositions of `RawMode.restoringSignals` before raw mode, in that order.
    var previousActions: (sigaction, sigaction, sigaction)
    /// Whether the `atexit` handler is registered.
    var exitHandlerRegistered: Bool
}

/// The one raw-mode record of the process. Only one terminal is in raw mode at a time.
nonisolated(unsafe) let rawModeRecord: UnsafeMutablePointer<RawModeRecord> = {
    let record = UnsafeMutablePointer<RawModeRecord>.allocate(capacity: 1)
    record.initialize(to: RawModeRecord(
        fileDescriptor: -1, originalSettings: termios(),
        previousActions: (sigaction(), sigaction(), sigaction()), exitHandlerRegistered: false))
    return record
}()

/// Switching a terminal into raw mode (no echo, no line buffering, no
/// signal keys, no output processing) and back.
///
/// While raw, SIGINT, SIGTERM and SIGHUP put the terminal back before the
/// signal takes its previous course, and so does an `exit()` — a shell is
/// never left without echo.
enum RawMode {
    /// Signals that restore the terminal while it is raw.
    static let restoringSignals: (Int32, Int32, Int32) = (SIGINT, SIGTERM, SIGHUP)

    /// Puts the terminal into raw mode. Returns false (changing nothing) when
    /// it is not a terminal or its settings cannot be changed.
    static func enter(fileDescriptor: Int32) -> Bool {
        let record = rawModeRecord
        guard record.pointee.fileDescriptor < 0 else { return false } // another terminal is raw
        var original = termios()
        guard tcgetattr(fileDescriptor, &original) == 0 else { return false }

        var raw = original
        raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        raw.c_oflag &= ~tcflag_t(OPOST)
        raw.c_cflag |= tcflag_t(CS8)
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { controlCharacters in
            controlCharacters[Int(VMIN)] = 1
            controlCharacters[Int(VTIME)] = 0
        }

        // Record first and install the handlers, so there is no moment in raw mode without them.
        record.pointee.originalSettings = original
        record.pointee.fileDescriptor = fileDescriptor
        if !record.pointee.exitHandlerRegistered {
            record.pointee.exitHandlerRegistered = true
            atexit { RawMode.restoreTerminalIfRaw() }
        }
        installSignalHandlers()
        // TCSADRAIN, not TCSAFLUSH: keys typed ahead of the prompt are kept.
        guard tcsetattr(fileDescriptor, TCSADRAIN, &raw) == 0 else {
            record.pointee.fileDescriptor = -1
            restorePreviousSignalHandlers()
            return false
        }
        return true
    }

    /// Leaves raw mode: restores the terminal settings (unless a signal
    /// handler already did) and the previous signal handlers.
    static func leave() {
        restoreTerminalIfRaw()
        restorePreviousSignalHandlers()
    }

    /// Whether a terminal is still in raw mode; false after a signal handler restored it.
    static var isActive: Bool { rawModeRecord.pointee.fileDescriptor >= 0 }

    /// Restores the recorded settings if a terminal is raw. Async-signal-safe.
    static func restoreTerminalIfRaw() {
        let record = rawModeRecord
        let fileDescriptor = record.pointee.fileDescriptor
        guard fileDescriptor >= 0 else { return }
        record.pointee.fileDescriptor = -1
        _ = withUnsafeMutablePointer(to: &record.pointee.originalSettings) { tcsetattr(fileDescriptor, TCSADRAIN, $0) }
    }

    private static func installSignalHandlers() {
        let record = rawModeRecord
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in RawMode.restoreTerminalAndResignal(signal) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0 // no SA_RESTART: a blocked read returns EINTR, so the editor notices
        let (first, second, third) = restoringSignals
        withUnsafeMutablePointer(to: &record.pointee.previousActions.0) { _ = sigaction(first, &action, $0) }
        withUnsafeMutablePointer(to: &record.pointee.previousActions.1) { _ = sigaction(second, &action, $0) }
        withUnsafeMutablePointer(to: &record.pointee.previousActions.2) { _ = sigaction(third, &action, $0) }
    }

    private static func restorePreviousSignalHandlers() {
        let (first, second, third) = restoringSignals
        for signal in [first, second, third] { restorePreviousHandler(for: signal) }
    }

    /// Reinstates the disposition `signal` had before raw mode. Async-signal-safe.
    private static func restorePreviousHandler(for signal: Int32) {
        let record = rawModeRecord
        let (first, second, _) = restoringSignals
        if signal == first {
            withUnsafeMutablePointer(to: &record.pointee.previousActions.0) { _ = sigaction(signal, $0, nil) }
        } else if signal == second {
            withUnsafeMutablePointer(to: &record.pointee.previousActions.1) { _ = sigaction(signal, $0, nil) }
        } else {
            withUnsafeMutablePointer(to: &record.pointee.previousActions.2) { _ = sigaction(signal, $0, nil) }
        }
    }

    /// The signal handler: restore the terminal, put back the previous
    /// disposition and raise the signal again so it does what it would have
    /// (by default, end the process). Only async-signal-safe calls.
    private static func restoreTerminalAndResignal(_ signal: Int32) {
        restoreTerminalIfRaw()
        restorePreviousHandler(for: signal)
        raise(signal)
    }
}
