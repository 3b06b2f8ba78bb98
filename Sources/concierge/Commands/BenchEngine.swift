import ArgumentParser
import DataPack
import Dialogue
import Foundation
import Store
import Triage

/// `concierge bench engine`: conversation-engine throughput in process, the
/// baseline the HTTP load test (`scripts/load/rest-load.sh`) compares against.
struct BenchEngine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Messages per second through the conversation engine in process (no HTTP), with N at a time.",
        discussion: """
        Sends each line of --messages (cycled) as the first message of a new \
        resident, exactly as the REST load test does over HTTP, with \
        --concurrency messages in flight, for --seconds, against a fresh SQLite \
        file. Prints throughput and latency percentiles. Build with -c release.
        """)

    @OptionGroup var homeOptions: HomeOptions
    @OptionGroup var packOptions: PackOptions

    @Option(help: ArgumentHelp("Messages, one per line.", valueName: "file"))
    var messages: String

    @Option(help: "Messages in flight at once.")
    var concurrency = 64

    @Option(help: "How long to run.")
    var seconds = 10.0

    @Option(help: ArgumentHelp("The SQLite file to use (default: a fresh one in a temporary folder).", valueName: "path"))
    var store: String?

    func run() async throws {
        let lines = try String(contentsOfFile: messages, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw CLIError("\(messages) has no messages") }
        let (pack, model, triager) = try Assistant.triage(packOptions: packOptions, home: homeOptions.home)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("concierge-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = store.map { URL(fileURLWithPath: $0) } ?? folder.appendingPathComponent("bench.sqlite")
        let ticketStore = try await StoreLocation.sqlite(file)
            .open(configuration: StoreConfiguration(responseTargets: PackFacts(pack: pack).targets))
        let engine = ConversationEngine(store: ticketStore, triager: triager, pack: pack,
                                        modelVersion: String(model.card.modelKey.prefix(12)))
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(seconds * 1000))
        let run = UUID().uuidString.prefix(8)
        let start = clock.now
        let results = try await withThrowingTaskGroup(of: [Double].self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var times: [Double] = []
                    var index = worker
                    while clock.now < deadline {
                        let sender = "bench-\(run)-\(worker)-\(index)"
                        let began = clock.now
                        _ = try await engine.handle(InboundMessage(channel: "rest", senderID: sender, deliveryID: sender,
                                                                   text: lines[index % lines.count]))
                        times.append(BenchChat.milliseconds(clock.now - began))
                        index += concurrency
                    }
                    return times
                }
            }
            var all: [Double] = []
            for try await times in group { all += times }
            return all
        }
        let elapsed = BenchChat.milliseconds(clock.now - start) / 1000
        let statistics = try await ticketStore.statistics()
        await ticketStore.close()
        print(String(format: "engine in process: %d messages in %.1f s = %.0f messages/s at concurrency %d; latency p50 %.2f ms, p99 %.2f ms; %d stored messages (in + replies)",
                     results.count, elapsed, Double(results.count) / elapsed, concurrency,
                     BenchChat.percentile(results, 0.5), BenchChat.percentile(results, 0.99), statistics.messages))
    }
}
