import Foundation

/// A small, fast, seeded random generator (SplitMix64) so property tests are
/// reproducible: a failure names its seed.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A fresh temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let url: URL
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("concierge-test-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    public func remove() { try? FileManager.default.removeItem(at: url) }
}

/// The root of the checkout (the folder holding Package.swift), found from this file.
public let packageRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
}()

/// Text residents send, English and Chinese, for tokenizer tests and benchmarks.
public let sampleMessages: [String] = [
    "The KITCHEN sink is LEAKING!! apt #4B",
    "厨房水龙头漏水了",
    "water is pouring through my bathroom ceiling, unit 1203, please hurry",
    "楼道灯坏了，晚上很黑",
    "Hi, the elevator in building 2 has been stuck on the 5th floor since last night",
    "我家的暖气不热了，3号楼1单元502",
    "someone parked in my spot again 😡",
    "can you tell me when trash day is?",
    "电梯又坏了 help",
    "the gym treadmill makes a weird noise",
]

/// The directory holding the built products (the test runner and `concierge`).
public func productsDirectory() -> URL {
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var candidate = runner.deletingLastPathComponent()
    // macOS runs tests from inside a .xctest bundle.
    while candidate.path != "/" && candidate.path.contains(".xctest") { candidate.deleteLastPathComponent() }
    return candidate
}

/// The `concierge` executable built beside the tests.
public func conciergeExecutable() throws -> URL {
    let url = productsDirectory().appendingPathComponent("concierge")
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
        throw CLIMissing(path: url.path)
    }
    return url
}

public struct CLIMissing: Error, CustomStringConvertible {
    var path: String
    public var description: String { "the concierge executable is not at \(path); `swift test` builds it (or run `swift build` first)" }
}

/// Runs `concierge` with `arguments`; returns exit status, stdout and stderr.
@discardableResult
public func runConcierge(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = try conciergeExecutable()
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = "1"
    env["CONCIERGE_PACKAGE_DIR"] = packageRoot.path
    env.removeValue(forKey: "CONCIERGE_STORE")
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let stdin = Pipe()
    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
    try process.run()
    if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
    }
    // Read both pipes to the end before waiting, so a full pipe cannot block the child.
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}
