import ArgumentParser

/// The `concierge` command: a community assistant for residents and staff.
@main
struct Concierge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concierge",
        abstract: "A community assistant that answers residents and turns their requests into tickets.",
        subcommands: [Chat.self, Serve.self, TriageCommand.self, Train.self, Evaluate.self, Benchmark.self,
                      Queue.self, TicketCommand.self, Report.self, Corrections.self, ResidentCommand.self, StaffCommand.self, APIKeyCommand.self, StoreCommand.self,
                      Tokenize.self, Check.self, Vocab.self, Bench.self]
    )
}
