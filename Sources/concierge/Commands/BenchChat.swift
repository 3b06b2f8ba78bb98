import ArgumentParser
import DataPack
import Dialogue
import Foundation
import Store
import Triage

/// `concierge bench chat`: reply latency of the conversation engine.
struct BenchChat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Reply latency per message (triage + dialogue + SQLite commit), model load excluded.",
        discussion: """
        Runs whole conversations (English and Chinese service requests answered \
        to the end, questions, status lookups) against a fresh SQLite file in a \
        temporary folder, timing each message from engine call to committed \
        reply, and prints the median, p90 and p99 alongside the triage alone \
        (without and with the occlusion explanation), measured in the same run. \
        Build with -c release.
        """)

    @OptionGroup var homeOptions: HomeOptions
    @OptionGroup var packOptions: PackOptions

    @Option(help: "Rounds over the scripted conversations.")
    var rounds = 20

    static let openings: [(text: String, language: Language)] = [
        ("my kitchen sink is leaking, there's a puddle under it", .en),
        ("the hallway light outside 3C keeps flickering", .en),
        ("when is the pool open?", .en),
        ("what's the status of my tickets?", .en),
        ("the fridge stopped cooling", .en),
        ("厨房水龙头漏水了", .zh),
        ("楼道的灯坏了", .zh),
        ("游泳池几点开放", .zh),
        ("我的报修进度", .zh),
        ("楼上每天半夜很吵", .zh),
    ]

    static func answer(_ pending: DialogueState.Pending?, language: Language) -> String? {
        let zh = language == .zh
        switch pending {
        case .intake(let intake):
            switch intake.asking {
            case "location": return zh ? "4B室" : "unit 4B"
            case "access": return zh ? "可以" : "yes"
            case nil: return zh ? "是的" : "yes"
            default: return zh ? "晚上" : "evenings"
            }
        case .duplicate, .confirmCancel: return zh ? "是" : "yes"
        default: return nil
        }
    }

    func run() async throws {
        let (pack, model, triager) = try Assistant.triage(packOptions: packOptions, home: homeOptions.home)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("concierge-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try await StoreLocation.sqlite(folder.appendingPathComponent("bench.sqlite"))
            .open(configuration: StoreConfiguration(responseTargets: PackFacts(pack: pack).targets))
        let engine = ConversationEngine(store: store, triager: triager, pack: pack,
                                        modelVersion: String(model.card.modelKey.prefix(12)))

        var replyTimes: [Double] = []
        var texts: [String] = []
        let clock = ContinuousClock()
        for round in 0..<rounds {
            for (index, opening) in Self.openings.enumerated() {
                let sender = "bench-\(round)-\(index)"
                var text: String? = opening.text
                var step = 0
                while let message = text, step < 8 {
                    step += 1
                    let inbound = InboundMessage(channel: "terminal", senderID: sender, deliveryID: "\(sender)-\(step)",
                                                 text: message, unit: nil)
                    let start = clock.now
                    let reply = try await engine.handle(inbound)
                    replyTimes.append(Self.milliseconds(clock.now - start))
                    texts.append(message)
                    text = Self.answer(reply.pending, language: opening.language)
                }
            }
        }
        var triageTimes: [Double] = []
        var explainTimes: [Double] = []
        for message in texts {
            let start = clock.now
            _ = try triager.triage(message)
            let middle = clock.now
            _ = try triager.triage(message, explain: true)
            triageTimes.append(Self.milliseconds(middle - start))
            explainTimes.append(Self.milliseconds(clock.now - middle))
        }
        await store.close()
        print("Reply latency over \(replyTimes.count) messages (\(rounds) rounds of \(Self.openings.count) conversations), release build expected:")
        let table = TextTable(columns: ["stage", "median ms", "p90 ms", "p99 ms", "mean ms"])
        for (name, times) in [("reply (triage + dialogue + SQLite commit)", replyTimes),
                              ("triage alone", triageTimes), ("triage with explanation", explainTimes)] {
            table.add([name, Self.format(Self.percentile(times, 0.5)), Self.format(Self.percentile(times, 0.9)),
                       Self.format(Self.percentile(times, 0.99)), Self.format(times.reduce(0, +) / Double(max(1, times.count)))])
        }
        print(table.render(), terminator: "")
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
    }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
    }

    static func format(_ value: Double) -> String { String(format: "%.2f", value) }
}
