import Foundation

/// A clock that a seeder moves by hand, so seeded tickets have realistic ages.
public final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date = Date()) { current = start }

    /// The clock's time.
    public var now: Date { lock.withLock { current } }

    /// Sets the clock.
    public func set(_ date: Date) { lock.withLock { current = date } }

    /// Moves the clock forward.
    public func advance(by seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }
}

/// Fills a store with realistic, reproducible data for tests and benchmarks:
/// residents writing in English and Chinese, each ticket filed through a
/// full conversation turn (inbound message, reply, outbox entry, idempotency
/// key, `created` event), and most tickets then worked to a final status.
public struct StoreSeeder: Sendable {
    /// Category ids of the shipped data pack.
    public static let categories = [
        "amenities", "appliances", "billing", "building_maintenance", "cleaning", "doors_locks", "electrical", "elevator",
        "heating_cooling", "landscaping", "lighting", "neighbor_issue", "noise", "packages_mail", "parking", "pests",
        "plumbing", "roads_sidewalks", "safety_hazard", "security", "trash_recycling",
    ]

    static let texts = [
        "The kitchen sink is leaking under the cabinet", "厨房水龙头漏水了", "hallway light on floor 3 keeps flickering",
        "楼道灯坏了，晚上很黑", "the elevator in building 2 is stuck on 5", "我家的暖气不热了", "someone parked in my spot again",
        "loud music upstairs every night after midnight", "垃圾房很臭，好几天没人清理", "the front door lock is jammed",
        "there are cockroaches in the laundry room", "空调不制冷", "package room door won't close", "water coming through the bathroom ceiling",
    ]

    public var seed: UInt64
    /// Share of tickets worked to a final status (closed, rejected, duplicate).
    public var finishedShare: Double
    /// Tickets per resident, on average.
    public var ticketsPerResident: Int

    public init(seed: UInt64 = 42, finishedShare: Double = 0.8, ticketsPerResident: Int = 3) {
        self.seed = seed
        self.finishedShare = finishedShare
        self.ticketsPerResident = ticketsPerResident
    }

    /// Timings of a seeding run.
    public struct Report: Sendable {
        public var tickets: Int
        /// Seconds spent in the conversation-turn transactions that filed the tickets.
        public var insertSeconds: Double
        /// Seconds spent working tickets to their final status (batched, 100 tickets a transaction).
        public var lifecycleSeconds: Double
        /// Tickets filed per second, one transaction each.
        public var ticketsPerSecond: Double { insertSeconds > 0 ? Double(tickets) / insertSeconds : 0 }
    }

    /// Files `count` tickets into `store`, whose configuration must read `clock`
    /// (tickets are spread over the `days` before the clock's start).
    public func run(store: any TicketStore, clock: ManualClock, count: Int, days: Double = 90,
                    progress: (@Sendable (Int) -> Void)? = nil) async throws -> Report {
        var random = SplitMix(seed: seed)
        let end = clock.now
        let start = end.addingTimeInterval(-days * 86_400)
        let step = count > 0 ? days * 86_400 / Double(count) : 0
        let residents = max(1, count / max(1, ticketsPerResident))
        var versions: [Int: Int] = [:]
        var finished: [(number: Int, kind: Int)] = []
        let insertStart = DispatchTime.now().uptimeNanoseconds
        for index in 0..<count {
            clock.set(start.addingTimeInterval(Double(index) * step))
            let residentIndex = Int(random.next() % UInt64(residents))
            let category = Self.categories[Int(random.next() % UInt64(Self.categories.count))]
            let text = Self.texts[Int(random.next() % UInt64(Self.texts.count))]
            let priorityRoll = random.next() % 100
            let priority: Priority = priorityRoll < 3 ? .p1 : priorityRoll < 20 ? .p2 : priorityRoll < 80 ? .p3 : .p4
            let unit = "\(1 + residentIndex % 20)\(["A", "B", "C", "D"][residentIndex % 4])"
            let resident = ResidentInfo(channel: "seed", externalID: "resident-\(residentIndex)",
                                        displayName: "Resident \(residentIndex)", language: text.unicodeScalars.contains { $0.value > 0x2E80 } ? "zh" : "en",
                                        unit: unit)
            let draft = TicketDraft(category: category, priority: priority, description: "\(text) (\(unit))", unit: unit,
                                    confidence: Double(50 + random.next() % 50) / 100, modelVersion: "seed")
            let turn = ConversationTurn(resident: resident, deliveryID: "seed-\(seed)-\(index)", inboundText: draft.description,
                                        expectedVersion: versions[residentIndex] ?? 0, newState: Data("{\"step\":\"filed\"}".utf8),
                                        tickets: [draft], reply: "Thanks, I've filed this for you.")
            let outcome = try await store.commitTurn(turn)
            versions[residentIndex] = outcome.version
            if Double(random.next() % 10_000) / 10_000 < finishedShare, let number = outcome.ticketNumbers.first {
                finished.append((number, Int(random.next() % 20)))
            }
            if let progress, (index + 1) % 1000 == 0 { progress(index + 1) }
        }
        let insertSeconds = Double(DispatchTime.now().uptimeNanoseconds - insertStart) / 1e9

        let lifecycleStart = DispatchTime.now().uptimeNanoseconds
        clock.set(end)
        for batchStart in stride(from: 0, to: finished.count, by: 100) {
            let batch = Array(finished[batchStart..<min(batchStart + 100, finished.count)])
            try await store.run(StoreOperation(.write) { session, context in
                for (number, kind) in batch {
                    let now = context.now
                    switch kind {
                    case 0:
                        _ = try session.changeStatus(number: number, to: .rejected, actor: "seed", now: now)
                    case 1 where number > 1:
                        do {
                            _ = try session.merge(number: number, into: number - 1, actor: "seed", now: now)
                        } catch StoreError.invalidMerge {
                            _ = try session.changeStatus(number: number, to: .rejected, actor: "seed", now: now)
                        }
                    default:
                        for status in [TicketStatus.triaged, .inProgress, .resolved, .closed] {
                            _ = try session.changeStatus(number: number, to: status, actor: "seed", now: now)
                        }
                    }
                }
            })
        }
        let lifecycleSeconds = Double(DispatchTime.now().uptimeNanoseconds - lifecycleStart) / 1e9
        return Report(tickets: count, insertSeconds: insertSeconds, lifecycleSeconds: lifecycleSeconds)
    }
}

/// SplitMix64: small, fast, seeded.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
