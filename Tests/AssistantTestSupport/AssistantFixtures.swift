import DataPack
import Foundation
import Store
import TestSupport
import Tokenizer
import Triage
import Dialogue

/// The real community model, trained once per test process on the shipped
/// data pack with the default recipe (cached by its key in the temporary
/// directory, so a second local run reuses it), with the shipped safety rules.
public enum CommunityFixture {
    public static let pack: DataPack = {
        do { return try DataPackLoader.load(directory: packageRoot.appendingPathComponent("intents")).pack }
        catch { preconditionFailure("the shipped data pack must load: \(error)") }
    }()

    public static let model: CommunityModel = {
        do {
            let tokenizer = try WordPieceTokenizer(vocabularyFile: packageRoot.appendingPathComponent("vocab/vocab.txt"))
            let models = FileManager.default.temporaryDirectory.appendingPathComponent("concierge-test-models")
            return try CommunityModel.loadOrTrain(intents: packageRoot.appendingPathComponent("intents"),
                                                  tokenizer: tokenizer, modelsDirectory: models)
        } catch { preconditionFailure("training the community model failed: \(error)") }
    }()

    public static let safety = SafetyRules(pack: pack)

    /// The triager, built (training the model if it is not cached) on a
    /// thread of its own: waiting here never ties up one of the few threads
    /// async tasks (and servers under test) run on.
    public static func preparedTriager() async -> Triager {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: triager) }
            thread.stackSize = 16 << 20
            thread.start()
        }
    }

    /// A fresh home folder holding a copy of the trained model, so the real
    /// `concierge` binary run on it does not train again.
    public static func homeWithModel() throws -> TemporaryDirectory {
        let home = try TemporaryDirectory()
        let target = home.url.appendingPathComponent("models").appendingPathComponent(model.directory.url.lastPathComponent)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: model.directory.url, to: target)
        return home
    }

    public static let triager: Triager = {
        do { return try Triager(model: model, pack: pack, safety: safety) }
        catch { preconditionFailure("tuning the decision thresholds failed: \(error)") }
    }()

    /// The same model with every decision judged unsure (to test clarification).
    public static let unsureTriager = Triager(classifier: model.classifier, pack: pack,
                                       thresholds: DecisionThresholds(clarify: 1.01), safety: safety)

    /// The same model with a P1 threshold of almost 0: every service request
    /// the model is not sure about is a possible emergency (to test the
    /// safety question).
    public static let possibleTriager = Triager(classifier: model.classifier, pack: pack, thresholds: triager.thresholds,
                                                safety: safety, possibleEmergencyThreshold: 0.000_001)
}

/// A real SQLite store in a fresh temporary directory.
public final class TestStore: @unchecked Sendable {
    public let database: TestDatabase
    public var store: any TicketStore

    /// The SQLite file (SQLite only).
    public var file: URL { (database.directory ?? URL(fileURLWithPath: "/nonexistent")).appendingPathComponent("concierge.sqlite") }

    /// A fresh database of `backend` (PostgreSQL needs the tests' server: see ``Backend``), on the real clock.
    public init(backend: Backend = .sqlite) async throws {
        database = try await TestDatabase(backend, realTime: true)
        store = try await database.open()
    }

    /// Closes the store and opens the same database again (a restarted process).
    public func reopen() async throws {
        await store.close()
        store = try await database.open()
    }

    public func close() async {
        await store.close()
        await database.destroy()
    }
}

/// One resident talking to an engine, as the REPL would.
public final class Resident {
    public var engine: ConversationEngine
    public let name: String
    public let unit: String?
    public let channel: String
    private var sent = 0

    public init(_ name: String, unit: String? = nil, channel: String = "terminal", engine: ConversationEngine) {
        self.name = name
        self.unit = unit
        self.channel = channel
        self.engine = engine
    }

    /// Sends a message; `deliveryID` defaults to a new id.
    @discardableResult
    public func say(_ text: String, deliveryID: String? = nil) async throws -> ConversationReply {
        sent += 1
        return try await engine.handle(InboundMessage(channel: channel, senderID: name, deliveryID: deliveryID ?? "\(name)-\(sent)-\(UUID().uuidString)",
                                                      text: text, displayName: name, unit: unit))
    }

    /// Answers whatever the assistant asks (in `language`) until nothing is
    /// pending or `limit` replies; returns every reply.
    public func answerQuestions(after first: ConversationReply, language: Language, limit: Int = 8) async throws -> [ConversationReply] {
        var replies = [first]
        var reply = first
        for _ in 0..<limit {
            guard let answer = Self.answer(to: reply.pending, language: language) else { break }
            reply = try await say(answer)
            replies.append(reply)
        }
        return replies
    }

    public static func answer(to pending: DialogueState.Pending?, language: Language) -> String? {
        let zh = language == .zh
        switch pending {
        case .intake(let intake):
            switch intake.asking {
            case "location": return zh ? "在4B室" : "unit 4B"
            case "access": return zh ? "可以" : "yes"
            case "best_time": return zh ? "工作日晚上" : "weekday evenings"
            case "contact": return zh ? "604-555-0100" : "604-555-0100"
            case "vehicle": return zh ? "红色本田，车牌ABC123" : "a red Honda, plate ABC123"
            case "when": return zh ? "就是现在" : "right now"
            case nil: return zh ? "是的" : "yes"
            default: return zh ? "好的" : "ok"
            }
        case .duplicate: return zh ? "是" : "yes"
        case .clarify: return "1"
        case .safetyCheck: return zh ? "不是" : "no"
        case .confirmCancel: return zh ? "是的" : "yes"
        default: return nil
        }
    }
}

public func makeEngine(_ store: any TicketStore, triager: any Triaging = CommunityFixture.triager) -> ConversationEngine {
    ConversationEngine(store: store, triager: triager, pack: CommunityFixture.pack, modelVersion: "test")
}

/// A triage that answers from a script: each message's decision is given
/// by the test, so the conversation policy is tested without a trained model.
/// A message not in the script is out of scope.
public struct ScriptedTriager: Triaging {
    public var decisions: [String: TriageDecision]
    public var serviceCategories: Set<String>
    public var defaultPriorities: [String: Priority]
    public var clarifyThreshold: Double

    /// The pack's categories and defaults (no model), and the decisions by message.
    public init(_ decisions: [TriageDecision], pack: DataPack = CommunityFixture.pack, clarifyThreshold: Double = 0.6) {
        self.decisions = Dictionary(decisions.map { ($0.text, $0) }, uniquingKeysWith: { first, _ in first })
        serviceCategories = Set(pack.categories.map(\.id))
        defaultPriorities = Dictionary(uniqueKeysWithValues: pack.categories.map { ($0.id, $0.defaultPriority) })
        self.clarifyThreshold = clarifyThreshold
    }

    public func triage(_ text: String, explaining policy: Triager.ExplanationPolicy) throws -> TriageDecision {
        decisions[text] ?? TriageDecision(text: text, kind: .outOfScope, intent: "out_of_scope", confidence: 0.9)
    }
}
