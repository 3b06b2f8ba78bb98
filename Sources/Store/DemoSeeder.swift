import Foundation

/// Fills a store with a history that makes the insights worth opening on a
/// fresh install (`concierge store seed --demo`): months of requests in
/// English and Chinese from every channel, heating tickets when it is cold,
/// an elevator in building 2 that keeps failing, a noisy unit, answers that
/// wait for Monday when a request comes in at the weekend, staff re-labels
/// of the assistant's tickets (P1 false alarms among them), residents saying
/// "not fixed" now and then, and ratings. Reproducible for a seed.
public struct DemoSeeder: Sendable {
    public var seed: UInt64
    public var months: Int

    public init(seed: UInt64 = 7, months: Int = 6) {
        self.seed = seed
        self.months = max(1, months)
    }

    /// One request and what happened to it (times after the end are dropped).
    struct Story {
        var created: Date
        var draft: TicketDraft
        var resident: ResidentInfo
        var respond: Date
        var resolve: Date
        /// nil: never confirmed; true: fixed; false: not fixed, then resolved again and fixed.
        var fixed: Bool?
        var rating: Int?
        /// A staff re-label: the correct category or priority.
        var relabel: (category: String?, priority: Priority?)?
    }

    /// Seeds `store` (whose configuration reads `clock`) with the months
    /// before the clock's time. Returns how many tickets were filed.
    @discardableResult
    public func run(store: any TicketStore, clock: ManualClock) async throws -> Int {
        let end = clock.now
        var random = SplitMix(seed: seed)
        let stories = Self.stories(until: end, days: months * 30, random: &random)
        var numbers: [Int] = []
        for (index, story) in stories.enumerated() {
            clock.set(story.created)
            let turn = ConversationTurn(resident: story.resident, deliveryID: "demo-\(seed)-\(index)", inboundText: story.draft.description,
                                        expectedVersion: try await store.conversation(channel: story.resident.channel,
                                                                                      externalID: story.resident.externalID)?.version ?? 0,
                                        newState: nil, tickets: [story.draft], reply: "Thanks, I've filed this for you.")
            numbers.append(try await store.commitTurn(turn).ticketNumbers.first ?? 0)
        }
        clock.set(end)
        for start in stride(from: 0, to: stories.count, by: 100) {
            let batch = Array(zip(numbers, stories))[start..<min(start + 100, stories.count)]
            try await store.run(StoreOperation(.write) { session, context in
                for (number, story) in batch { try Self.live(story, number: number, until: end, session: session, targets: context.targets) }
            })
        }
        return stories.count
    }

    /// What staff and the resident did with one ticket, up to `end`.
    static func live(_ story: Story, number: Int, until end: Date, session: SQLSession, targets: ResponseTargets) throws {
        if let relabel = story.relabel {
            let at = story.created.addingTimeInterval(20 * 60)
            if let category = relabel.category { _ = try session.changeCategory(number: number, to: category, actor: "mia", now: at) }
            if let priority = relabel.priority {
                _ = try session.changePriority(number: number, to: priority, actor: "mia", now: at, targets: targets)
            }
        }
        guard story.respond < end else { return }
        _ = try session.changeStatus(number: number, to: .inProgress, actor: "mia", now: story.respond)
        guard story.resolve < end else { return }
        _ = try session.changeStatus(number: number, to: .resolved, actor: "mia", now: story.resolve)
        guard let fixed = story.fixed else { return }
        let answered = story.resolve.addingTimeInterval(6 * 3_600)
        guard answered < end else { return }
        if !fixed {
            _ = try session.changeStatus(number: number, to: .inProgress, actor: "resident", now: answered)
            try session.execute("UPDATE tickets SET resident_confirmation = 'not_fixed' WHERE number = ?", [.int(number)])
            let again = answered.addingTimeInterval(2 * 86_400)
            guard again < end else { return }
            _ = try session.changeStatus(number: number, to: .resolved, actor: "mia", now: again)
        }
        _ = try session.changeStatus(number: number, to: .closed, actor: "resident", now: min(end, answered.addingTimeInterval(fixed ? 0 : 2 * 86_400 + 3_600)))
        try session.execute("UPDATE tickets SET resident_confirmation = 'fixed', rating = ? WHERE number = ?",
                            [story.rating.map { .int($0) } ?? .null, .int(number)])
    }
}

extension DemoSeeder {
    /// Everyday requests: category, English and Chinese words, usual priority, and the place they name.
    static let everyday: [(category: String, en: String, zh: String, priority: Priority, place: String?)] = [
        ("plumbing", "the kitchen tap drips", "厨房水龙头漏水", .p3, nil),
        ("plumbing", "no hot water since this morning", "从早上开始没有热水", .p2, nil),
        ("lighting", "the hallway light on my floor is out", "我这层走廊的灯不亮", .p3, "hallway"),
        ("pests", "cockroaches in the kitchen", "厨房有蟑螂", .p3, nil),
        ("parking", "someone parked in my spot", "有人占了我的车位", .p4, "garage"),
        ("trash_recycling", "the garbage room smells", "垃圾房很臭", .p3, "trash_room"),
        ("doors_locks", "the front door lock is jammed", "大门的锁卡住了", .p2, "entrance"),
        ("appliances", "the fridge stopped cooling", "冰箱不制冷了", .p2, nil),
        ("packages_mail", "my parcel is missing from the package room", "快递室里我的包裹不见了", .p3, "mailroom"),
        ("cleaning", "the lobby floor is dirty", "大堂地面很脏", .p4, "lobby"),
        ("electrical", "an outlet in the bedroom sparks", "卧室插座冒火花", .p1, nil),
        ("amenities", "the gym treadmill is broken", "健身房跑步机坏了", .p4, "gym"),
    ]

    static let channels = ["telegram", "sms", "slack", "rest", "telegram", "sms"]

    /// The months' requests, oldest first.
    static func stories(until end: Date, days: Int, random: inout SplitMix) -> [Story] {
        var stories: [Story] = []
        let start = end.addingTimeInterval(-Double(days) * 86_400)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for day in 0..<days {
            let date = start.addingTimeInterval(Double(day) * 86_400)
            let month = calendar.component(.month, from: date)
            let cold = [11, 12, 1, 2].contains(month)
            let weekend = calendar.isDateInWeekend(date)
            var count = Int(random.next() % (weekend ? 4 : 8)) + 1
            if cold { count += 1 }
            for _ in 0..<count {
                let at = date.addingTimeInterval(Double(7 * 3_600 + Int(random.next() % 15 * 3_600)))
                let story = cold && random.next() % 4 == 0
                    ? request(("heating_cooling", "no heat in my apartment", "家里暖气不热", .p2, nil), at: at, random: &random)
                    : request(everyday[Int(random.next() % UInt64(everyday.count))], at: at, random: &random)
                stories.append(story)
            }
            // The elevator in building 2 fails more and more often; unit 12C's music, most weeks.
            if day > days / 3, day % max(4, 14 - day * 10 / days) == 0 {
                stories.append(request(("elevator", "the elevator in building 2 is stuck again", "2号楼电梯又坏了", .p2, "building 2 · elevator"),
                                       at: date.addingTimeInterval(9 * 3_600), random: &random))
            }
            if day % 7 == 5 {
                var noise = request(("noise", "loud music from 12C after midnight", "12C半夜放音乐很吵", .p3, nil),
                                    at: date.addingTimeInterval(23.5 * 3_600), random: &random)
                noise.draft.unit = "12C"
                stories.append(noise)
            }
        }
        return stories.filter { $0.created < end }.sorted { $0.created < $1.created }
    }

    /// One request at `at`, with its answer times (weekends wait for Monday), confirmation, rating and any re-label.
    static func request(_ kind: (category: String, en: String, zh: String, priority: Priority, place: String?), at: Date,
                        random: inout SplitMix) -> Story {
        let chinese = random.next() % 5 < 2
        let residentNumber = Int(random.next() % 120)
        let unit = "\(1 + residentNumber % 20)\(["A", "B", "C", "D"][residentNumber % 4])"
        let resident = ResidentInfo(channel: channels[residentNumber % channels.count], externalID: "demo-\(residentNumber)",
                                    displayName: "Resident \(residentNumber)", language: chinese ? "zh" : "en", unit: unit)
        var draft = TicketDraft(category: kind.category, priority: kind.priority, description: chinese ? kind.zh : kind.en, unit: unit,
                                confidence: Double(55 + random.next() % 45) / 100, modelVersion: "demo",
                                place: place(kind.place, unit: unit, random: &random), clarified: random.next() % 100 < 15)
        var relabel: (category: String?, priority: Priority?)?
        let roll = random.next() % 100
        if roll < 4 {  // the assistant's false alarm
            draft.priority = .p1
            relabel = (nil, kind.priority)
        } else if roll < 7, kind.priority == .p2 {  // a miss staff raise
            relabel = (nil, .p1)
        } else if roll < 13 {
            relabel = ("building_maintenance", nil)
        }
        let hours: Double = switch draft.priority { case .p1: 0.3; case .p2: 3 + Double(random.next() % 20); default: 10 + Double(random.next() % 80) }
        let respond = mondayMorningIfWeekend(at.addingTimeInterval(hours * 3_600))
        let resolve = respond.addingTimeInterval(Double(2 + random.next() % 70) * 3_600)
        let answer = random.next() % 100
        let fixed: Bool? = answer < 70 ? true : answer < 80 ? false : nil
        let base = kind.category == "elevator" ? 1 : 3
        let rating = fixed == nil || random.next() % 10 < 4 ? nil : min(5, base + Int(random.next() % 3))
        return Story(created: at, draft: draft, resident: resident, respond: respond, resolve: resolve, fixed: fixed, rating: rating,
                     relabel: relabel)
    }

    /// Where an everyday request is: a hallway on the resident's floor, other
    /// shared places in one of three buildings; half the residents name none
    /// (then the unit counts). The failing elevator keeps its one place.
    static func place(_ place: String?, unit: String, random: inout SplitMix) -> String? {
        guard let place, !place.hasPrefix("building "), random.next() % 2 == 0 else { return place?.hasPrefix("building ") == true ? place : nil }
        if place == "hallway" { return "floor \(unit.dropLast()) · hallway" }
        return "building \(1 + random.next() % 3) · \(place)"
    }

    /// Staff answer at the weekend only on Monday at 9 (UTC).
    static func mondayMorningIfWeekend(_ date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard calendar.isDateInWeekend(date),
              let monday = calendar.nextDate(after: date, matching: DateComponents(hour: 9, weekday: 2), matchingPolicy: .nextTime) else {
            return date
        }
        return monday
    }
}
