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
public struct TemporaryDirectory {
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
