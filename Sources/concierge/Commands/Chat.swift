import ArgumentParser
import DataPack
import Dialogue
import Foundation
import Home
import LineEditor
import Store
import Triage

/// `concierge chat`: the resident's terminal chat.
struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with the assistant in the terminal, as a resident.",
        discussion: """
        Report a problem ("water is coming through my ceiling", "楼道灯坏了"), ask a \
        question ("when is the pool open?"), or ask about your tickets ("status of #3"). \
        The first run trains the community's model (a few minutes on two cores) and \
        reuses it afterwards. The conversation is kept in the store: quit and come \
        back, and it resumes where it was.

        Commands: /help, /tickets (your tickets), /lang en|zh, /quit (or Ctrl-D).

        With input piped in (echo "my sink leaks" | concierge chat) each line is one \
        message and only the replies are printed, without colour.
        """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var packOptions: PackOptions

    @Option(help: ArgumentHelp("Who you are (default: the last name used here, else $USER).", valueName: "name"))
    var resident: String?

    @Option(help: ArgumentHelp("Your unit, e.g. 4B (remembered).", valueName: "unit"))
    var unit: String?

    @Option(help: ArgumentHelp("Reply in this language: en or zh (default: the language you write in).", valueName: "lang"))
    var lang: String?

    @Flag(help: "Show the triage decision and its explanation under each reply (for staff and debugging).")
    var verbose = false

    func validate() throws {
        if let lang, Language(rawValue: lang.lowercased()) == nil {
            throw ValidationError("--lang must be en or zh, not \"\(lang)\"")
        }
    }

    func run() async throws {
        let home = storeOptions.home.home
        try home.prepare()
        var profile = ChatProfile.load(home: home)
        if let resident, resident != profile.resident {
            // Someone else: their unit and language are not the last person's.
            profile = ChatProfile(resident: resident)
        }
        if let unit { profile.unit = unit.uppercased() }
        if let lang { profile.language = lang.lowercased() }
        if profile.resident?.isEmpty ?? true {
            profile.resident = ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "resident"
        }
        try profile.save(home: home)

        let assistant = try await Assistant.open(storeOptions: storeOptions, packOptions: packOptions)
        var session = ChatSession(engine: assistant.engine, profile: profile, verbose: verbose,
                                  style: TerminalStyle.standardOutput, home: home)
        do {
            try await session.run()
        } catch {
            await assistant.store.close()
            throw error
        }
        await assistant.store.close()
    }
}

/// What `concierge chat` remembers between runs (`<home>/chat.json`).
struct ChatProfile: Codable {
    var resident: String?
    var unit: String?
    var language: String?

    static func url(_ home: ConciergeHome) -> URL { home.root.appendingPathComponent("chat.json") }

    static func load(home: ConciergeHome) -> ChatProfile {
        (try? JSONDecoder().decode(ChatProfile.self, from: Data(contentsOf: url(home)))) ?? ChatProfile()
    }

    func save(home: ConciergeHome) throws {
        try JSONEncoder().encode(self).write(to: Self.url(home), options: .atomic)
    }
}

/// The REPL: reads lines, sends them to the engine, prints the replies.
struct ChatSession {
    static let channel = "terminal"

    let engine: ConversationEngine
    var profile: ChatProfile
    let verbose: Bool
    let style: TerminalStyle
    let home: ConciergeHome

    var sender: String { profile.resident ?? "resident" }
    var language: Language? { profile.language.flatMap(Language.init(rawValue:)) }
    var interactive: Bool { TerminalStyle.isTerminal(STDIN_FILENO) }

    mutating func run() async throws {
        let editor = LineEditor(historyFile: home.root.appendingPathComponent("chat_history"))
        if interactive {
            let unitText = profile.unit.map { " (unit \($0))" } ?? ""
            print(style.dim("You are \(sender)\(unitText). Type /help for commands, /quit or Ctrl-D to leave."))
            try await deliverStaffReplies()
            if let prompt = try await engine.resumePrompt(channel: Self.channel, senderID: sender) {
                print(style.cyan("Continuing where we left off: ") + prompt)
            }
        }
        while true {
            let prompt = style.bold("\(sender)\(profile.unit.map { "@\($0)" } ?? "")> ")
            switch editor.readLine(prompt: prompt) {
            case .endOfInput, .interrupted:
                if interactive { print(style.dim("Bye.")) }
                return
            case .line(let line):
                let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
                if text.isEmpty { continue }
                if text.hasPrefix("/") {
                    if try await command(text) == .quit { return }
                    continue
                }
                await send(text)
            }
        }
    }

    enum CommandResult { case `continue`, quit }

    mutating func command(_ text: String) async throws -> CommandResult {
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        switch parts[0].lowercased() {
        case "/quit", "/exit", "/q":
            return .quit
        case "/help", "/?":
            print("""
                Write what you need in English or Chinese. Commands:
                  /tickets      your tickets and their status
                  /lang en|zh   reply in English or Chinese
                  /help         this help
                  /quit         leave (Ctrl-D works too)
                """)
        case "/tickets":
            print(try await engine.ticketsText(channel: Self.channel, senderID: sender, language: language ?? .en))
        case "/lang":
            guard parts.count == 2, let chosen = Language(rawValue: parts[1].lowercased().trimmingCharacters(in: .whitespaces)) else {
                print(style.yellow("Usage: /lang en or /lang zh"))
                return .continue
            }
            profile.language = chosen.rawValue
            try profile.save(home: home)
            print(style.dim(chosen == .zh ? "好的，我会用中文回复。" : "OK, I'll reply in English."))
        default:
            print(style.yellow("Unknown command \(parts[0]). Type /help."))
        }
        return .continue
    }

    /// What reached this resident while they were away (staff's public
    /// replies and status updates, queued in the outbox for the terminal
    /// channel): shown here, oldest first, then marked sent.
    func deliverStaffReplies() async throws {
        let waiting = try await engine.store.dueOutbox(now: Date(), limit: 50, channel: Self.channel, recipient: sender)
        guard !waiting.isEmpty else { return }
        print(style.cyan(language == .zh ? "您不在的时候：" : "While you were away:"))
        for item in waiting {
            print("  " + item.text)
            try await engine.store.markOutboxSent(id: item.id, deliveryID: nil)
        }
    }

    func send(_ text: String) async {
        let message = InboundMessage(channel: Self.channel, senderID: sender, deliveryID: UUID().uuidString, text: text,
                                     displayName: sender, unit: profile.unit, preferredLanguage: language,
                                     explain: verbose, queueReply: false)
        do {
            let reply = try await engine.handle(message)
            if let text = reply.text {
                print(style.green(text))
            } else if interactive {
                print(style.dim("(A staff member has this conversation now; your message was passed on.)"))
            }
            if verbose, let decision = reply.decision { print(style.dim(Self.describe(decision))) }
            if interactive { try await deliverStaffReplies() }
        } catch {
            // Nothing was committed: say so, so the resident can send it again.
            FileHandle.standardError.write(Data("error: your message was not processed (\(error)). Please send it again.\n".utf8))
        }
    }

    /// The `--verbose` lines under a reply.
    static func describe(_ decision: TriageDecision) -> String {
        var lines: [String] = []
        var head = "  [\(decision.kind.rawValue)] \(decision.intent) \(String(format: "%.2f", decision.confidence))"
        if let priority = decision.priority {
            head += "  priority \(priority)"
            if let model = decision.modelPriority, model != priority { head += " (model \(model))" }
        }
        if decision.needsClarification { head += "  unsure" }
        if decision.outOfScope { head += "  out of scope" }
        lines.append(head)
        if decision.alternatives.count > 1 {
            lines.append("  alternatives: " + decision.alternatives.map { "\($0.label) \(String(format: "%.2f", $0.probability))" }
                .joined(separator: ", "))
        }
        if let safety = decision.safety { lines.append("  safety rule \(safety.rule): \"\(safety.matchedText)\"") }
        if let explanation = decision.explanation {
            if !explanation.intentWords.isEmpty {
                lines.append("  why \(decision.intent): " + explanation.intentWords.map { "\($0.word) (\(String(format: "%.2f", $0.influence)))" }
                    .joined(separator: ", "))
            }
            if !explanation.priorityWords.isEmpty {
                lines.append("  why \((decision.modelPriority ?? decision.priority)?.rawValue ?? ""): "
                             + explanation.priorityWords.map { "\($0.word) (\(String(format: "%.2f", $0.influence)))" }.joined(separator: ", "))
            }
        }
        return lines.joined(separator: "\n")
    }
}
