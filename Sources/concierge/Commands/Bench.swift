import ArgumentParser

/// `concierge bench …`: release-mode benchmarks that print figures.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a benchmark and print its figures (build with -c release).",
        subcommands: [BenchTokenizer.self, BenchEncoder.self, BenchTraining.self, BenchChat.self, BenchPhotos.self, BenchEngine.self]
    )
}
