import ArgumentParser

/// The `concierge` command: a community assistant for residents and staff.
@main
struct Concierge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concierge",
        abstract: "A community assistant that answers residents and turns their requests into tickets.",
        subcommands: [Train.self, Evaluate.self, Benchmark.self, Tokenize.self, Check.self, Vocab.self, Bench.self]
    )
}
