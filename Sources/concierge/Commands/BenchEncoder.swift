import ArgumentParser
import Dispatch
import Foundation
import Model

/// `concierge bench encoder`: latency and throughput of the Swift encoder.
struct BenchEncoder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder",
        abstract: "Encoder latency (batch 1) and throughput (batch 64) for the small and large configs.",
        discussion: """
            Build with -c release. Prints batch-1 latency p50/p99 at lengths 16/32/64 on one thread, \
            throughput at batch 64 × length 32 on 1 and 2 threads, and achieved GFLOP/s. \
            scripts/encoder_bench_compare.py runs PyTorch and ONNX Runtime on the same weights.
            """
    )

    @Option(name: .customLong("config"), help: "Configs to run: small, large (repeatable).")
    var configs: [String] = ["small", "large"]

    @Option(help: "Seed of the random weights and token ids.")
    var seed: UInt64 = 42

    @Option(help: "Batch-1 timed iterations per length.")
    var latencyIterations: Int = 2000

    @Option(help: "Seconds per throughput measurement.")
    var throughputSeconds: Double = 2

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(help: "Write the benchmarked weights as encoder-<config>.safetensors into this directory.")
    var exportWeights: String?

    @Flag(help: "With --export-weights: write the weights and exit without benchmarking.")
    var exportOnly = false

    @Flag(help: "Also print the time per stage of a batch-1 pass (length 32) and of a batch-64 pass.")
    var stages = false

    @Flag(help: "Only measure batch-64 throughput (skip the batch-1 latencies).")
    var throughputOnly = false

    @Flag(help: "Only measure batch-1 latency (skip the batch-64 throughput).")
    var latencyOnly = false

    @Option(name: .customLong("threads"), help: "Thread counts of the throughput measurement (repeatable).")
    var throughputThreads: [Int] = [1, 2]

    @Option(help: .hidden) var forwardCheckpoint: String?
    @Option(help: .hidden) var forwardInput: String?

    func run() throws {
        if let forwardCheckpoint, let forwardInput {
            try printForward(checkpoint: forwardCheckpoint, input: forwardInput)
            return
        }
        #if DEBUG
        if !json { print("warning: debug build; measure with `swift run -c release concierge bench encoder`") }
        #endif
        var report: [String: Any] = [:]
        for name in configs {
            let config: EncoderConfig
            switch name {
            case "small": config = .small
            case "large": config = .large
            default: throw ValidationError("unknown config '\(name)' (small, large)")
            }
            let encoder = try Encoder(config: config, seed: seed)
            if let dir = exportWeights {
                let url = URL(fileURLWithPath: dir).appendingPathComponent("encoder-\(name).safetensors")
                try encoder.checkpoint.save(to: url)
                if !json && !exportOnly { print("weights written to \(url.path)") }
            }
            if exportOnly { continue }
            report[name] = try measure(name: name, encoder: encoder)
        }
        if json && !exportOnly {
            let data = try JSONSerialization.data(withJSONObject: ["swift": report], options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    private func measure(name: String, encoder: Encoder) throws -> [String: Any] {
        let c = encoder.config
        var rng = Xoshiro256(seed: seed &+ 1)
        func ids(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(rng.next() % UInt64(c.vocabSize)) } }
        if !json {
            print("\n== \(name): d_model \(c.dModel), heads \(c.heads), layers \(c.layers), FFN \(c.ffnWidth), vocab \(c.vocabSize), max length \(c.maxLength)")
            print("batch-1 latency, 1 thread:")
        }
        var latency: [String: Any] = [:]
        for length in throughputOnly ? [] : [16, 32, 64] {
            let input = [ids(length)]
            for _ in 0..<100 { _ = try encoder.forward(tokenIDs: input, threads: 1) }
            var samples: [Double] = []
            samples.reserveCapacity(latencyIterations)
            for _ in 0..<latencyIterations {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try encoder.forward(tokenIDs: input, threads: 1)
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            samples.sort()
            let p50 = samples[samples.count / 2], p99 = samples[min(samples.count - 1, samples.count * 99 / 100)]
            let gflops = c.forwardFLOPs(length: length) / (p50 * 1e-3) / 1e9
            latency[String(length)] = ["p50_ms": p50, "p99_ms": p99, "gflops": gflops]
            if !json {
                print(String(format: "  length %2d: p50 %.3f ms  p99 %.3f ms  (%.1f GFLOP/s at p50, %.1f MFLOP/pass)",
                             length, p50, p99, gflops, c.forwardFLOPs(length: length) / 1e6))
            }
        }
        if stages && !json {
            for (batch, iterations) in [(1, 500), (64, 10)] {
                let profile = encoder.stageProfile(length: 32, batch: batch, iterations: iterations)
                let sum = profile.reduce(0) { $0 + $1.milliseconds }
                print("stages, batch \(batch) × length 32, 1 thread (total \(String(format: "%.3f", sum)) ms):")
                for (stage, ms) in profile {
                    print(String(format: "  %-16@ %8.3f ms  %5.1f%%", stage as NSString, ms, 100 * ms / sum))
                }
            }
        }
        var throughput: [String: Any] = [:]
        if !json && !latencyOnly { print("throughput, batch 64 × length 32:") }
        var batchRNG = Xoshiro256(seed: seed &+ 2)  // the same batch whatever was measured before
        let batch = (0..<64).map { _ in (0..<32).map { _ in Int32(batchRNG.next() % UInt64(c.vocabSize)) } }
        for threads in latencyOnly ? [] : throughputThreads {
            for _ in 0..<5 { _ = try encoder.forward(tokenIDs: batch, threads: threads) }
            var runs = 0
            let cpu0 = processCPUSeconds()
            let t0 = DispatchTime.now().uptimeNanoseconds
            var elapsed = 0.0
            var fastest = Double.infinity
            repeat {
                let t1 = DispatchTime.now().uptimeNanoseconds
                _ = try encoder.forward(tokenIDs: batch, threads: threads)
                let t2 = DispatchTime.now().uptimeNanoseconds
                fastest = min(fastest, Double(t2 - t1) / 1e9)
                runs += 1
                elapsed = Double(t2 - t0) / 1e9
            } while elapsed < throughputSeconds
            let seqPerSec = Double(runs * 64) / elapsed
            // Per CPU-second of this process: what the loop gets from the
            // cores it actually ran on, whatever else the machine was doing.
            let seqPerCPUSec = Double(runs * 64) / max(processCPUSeconds() - cpu0, 1e-9)
            let gflops = seqPerSec * c.forwardFLOPs(length: 32) / 1e9
            throughput[String(threads)] = ["seq_per_s": seqPerSec, "gflops": gflops, "seq_per_cpu_s": seqPerCPUSec,
                                          "best_seq_per_s": 64 / fastest]
            if !json {
                print(String(format: "  %d thread%@: %8.0f sequences/s  (%.1f GFLOP/s; fastest pass %.0f sequences/s; %.0f per CPU-second)",
                             threads, threads == 1 ? " " : "s", seqPerSec, gflops, 64 / fastest, seqPerCPUSec))
            }
        }
        return ["latency": latency, "throughput": throughput,
                "mflop_per_pass": ["16": c.forwardFLOPs(length: 16) / 1e6, "32": c.forwardFLOPs(length: 32) / 1e6,
                                   "64": c.forwardFLOPs(length: 64) / 1e6]]
    }

    /// User + system CPU time of this process so far.
    private func processCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Parity helper for scripts/encoder_parity.py: runs a checkpoint on
    /// `{"token_ids": [[Int]]}` and prints `{"pooled": …, "logits": {…}}`.
    private func printForward(checkpoint: String, input: String) throws {
        let encoder = try Encoder(checkpoint: URL(fileURLWithPath: checkpoint))
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: input)))
        guard let dict = object as? [String: Any], let rows = dict["token_ids"] as? [[Int]] else {
            throw ValidationError("--forward-input must hold {\"token_ids\": [[Int]]}")
        }
        let out = try encoder.forward(tokenIDs: rows.map { $0.map { Int32(clamping: $0) } })
        let json: [String: Any] = [
            "pooled": out.pooled.map { $0.map(Double.init) },
            "logits": out.logits.mapValues { $0.map { $0.map(Double.init) } },
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self))
    }
}
