import ArgumentParser
import DataPack
import Dialogue
import Foundation
import Logging
import Media
import Outbox
import Store

/// `concierge bench photos`: what a photo costs a reply, and the store.
struct BenchPhotos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "photos",
        abstract: "Reply latency with and without a photo, photos stored per second, store size per 1,000 photos.",
        discussion: """
        Three fresh SQLite stores in a temporary folder, three engines on the \
        same model: each first message of `bench chat`'s conversations goes to \
        each, interleaved: as text, with a JPEG of --photo-kb KB sent as bytes \
        (REST: an EXIF segment to strip, random picture bytes), and with a \
        platform's photo (recorded, fetched after the reply). Then --writes \
        turns that only store a photo (no triage) time the store, the media \
        worker fetches the platform photos from memory (its own cost, no \
        network), and the folders' sizes give the growth per 1,000 photos. \
        Build with -c release.
        """)

    @OptionGroup var homeOptions: HomeOptions
    @OptionGroup var packOptions: PackOptions
    @Option(help: "Rounds over the opening messages.") var rounds = 20
    @Option(help: "The photo's size in KB (phones send 1,000 to 4,000).") var photoKb = 2_000
    @Option(help: "Photo-only turns for the store's rate.") var writes = 300

    func run() async throws {
        let (pack, _, triager) = try Assistant.triage(packOptions: packOptions, home: homeOptions.home)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("concierge-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var folders: [URL] = []
        var engines: [ConversationEngine] = []
        for name in ["text", "photo", "platform"] {
            let folder = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let store = try await StoreLocation.sqlite(folder.appendingPathComponent("bench.sqlite"))
                .open(configuration: StoreConfiguration(responseTargets: PackFacts(pack: pack).targets))
            folders.append(folder)
            engines.append(ConversationEngine(store: store, triager: triager, pack: pack))
        }
        let photo = InboundAttachment(data: Self.jpeg(kilobytes: photoKb), declaredType: "image/jpeg")
        let times = try await replyTimes(engines, photo: photo)
        let writeSeconds = try await timePhotoWrites(engines[1].store, photo: photo.data)
        let fetched = try await timeFetches(engines[2].store, photo: photo.data, pack: pack)
        let photos = try await engines[1].store.statistics().attachments
        for engine in engines { await engine.store.close() }
        let sizes = try folders.map(Self.bytes(in:))
        let medians = times.map { BenchChat.percentile($0, 0.5) }
        print("Photos: \(photoKb) KB JPEG, \(times[0].count) opening messages each way, \(writes) photo-only turns, release build expected:")
        let table = TextTable(columns: ["measure", "value"])
        table.add(["reply median, text only (ms)", BenchChat.format(medians[0])])
        table.add(["reply median, with a photo sent as bytes (REST) (ms)", BenchChat.format(medians[1])])
        table.add(["reply median, with a platform's photo (Telegram, Twilio, Slack) (ms)", BenchChat.format(medians[2])])
        table.add(["with a photo as bytes / text only", String(format: "%.2f ×", medians[1] / max(medians[0], 0.001))])
        table.add(["with a platform's photo / text only", String(format: "%.2f ×", medians[2] / max(medians[0], 0.001))])
        table.add(["photos stored per second (store alone)", String(format: "%.0f", Double(writes) / writeSeconds)])
        table.add(["platform photos fetched, checked, stored per second (worker, in-memory fetcher)",
                   String(format: "%.0f (%d)", Double(fetched.count) / fetched.seconds, fetched.count)])
        table.add(["store growth per 1,000 photos (MB)",
                   String(format: "%.0f", Double(sizes[1] - sizes[0]) / Double(max(photos, 1)) * 1_000 / 1_000_000)])
        let kept = try Self.draft(photo.data).data.count
        table.add(["bytes kept per photo / bytes sent", String(format: "%.3f", Double(kept) / Double(photo.data.count))])
        print(table.render(), terminator: "")
    }

    /// Each opening message through each engine, interleaved: as text, with
    /// `photo` as bytes, with a platform's photo to fetch later. Milliseconds per engine.
    func replyTimes(_ engines: [ConversationEngine], photo: InboundAttachment) async throws -> [[Double]] {
        var times: [[Double]] = Array(repeating: [], count: engines.count)
        let clock = ContinuousClock()
        for round in 0..<rounds {
            for (index, opening) in BenchChat.openings.enumerated() {
                for (which, engine) in engines.enumerated() {
                    var message = InboundMessage(channel: which == 2 ? "telegram" : "terminal", senderID: "bench-\(round)-\(index)",
                                                 deliveryID: "\(round)-\(index)", text: opening.text)
                    if which == 1 { message.attachments = [photo] }
                    if which == 2 {
                        message.remoteMedia = [RemoteMedia(MediaReference(channel: "telegram", locator: "AgAD-\(round)-\(index)",
                                                                          declaredType: "image/jpeg"))]
                    }
                    let start = clock.now
                    _ = try await engine.handle(message)
                    times[which].append(BenchChat.milliseconds(clock.now - start))
                }
            }
        }
        return times
    }

    /// Seconds for --writes turns that only store `photo` (no triage).
    func timePhotoWrites(_ store: any TicketStore, photo: Data) async throws -> Double {
        let resident = ResidentInfo(channel: "terminal", externalID: "bench-writer")
        let draft = try Self.draft(photo)
        let clock = ContinuousClock()
        let start = clock.now
        var version = 0
        for write in 0..<writes {
            version = try await store.commitTurn(ConversationTurn(resident: resident, deliveryID: "w-\(write)", inboundText: "📷",
                                                                  expectedVersion: version, newState: nil, reply: nil,
                                                                  attachments: [draft])).version
        }
        return BenchChat.milliseconds(clock.now - start) / 1_000
    }

    /// The media worker over the platform photos the replies recorded, with a
    /// fetcher that hands over `photo` from memory: the worker's own cost
    /// (claim, check and strip, store), without a network.
    func timeFetches(_ store: any TicketStore, photo: Data, pack: DataPack) async throws -> (count: Int, seconds: Double) {
        let wording = PhotoFetchWording(pack: pack)
        var logger = Logger(label: "concierge.media")
        logger.logLevel = .warning
        let worker = MediaFetchWorker(store: store, fetchers: [InMemoryFetcher(channel: "telegram", data: photo)],
                                      configuration: .init(batchSize: 50),
                                      notice: { wording.text(language: $0, ticket: $1, refused: $2) }, logger: logger)
        let clock = ContinuousClock()
        let start = clock.now
        var stored = 0
        while true {
            let round = await worker.fetchDue()
            stored += round.stored
            if round.attempted == 0 { break }
        }
        return (stored, BenchChat.milliseconds(clock.now - start) / 1_000)
    }

    /// Hands over the same bytes for every file.
    struct InMemoryFetcher: MediaFetcher {
        let channel: String
        let data: Data
        func fetch(_ locator: String, maxBytes: Int) async -> MediaFetchResult { .fetched(data) }
    }

    /// A JPEG of about `kilobytes` KB: JFIF, an EXIF segment with a GPS
    /// position, and random bytes as the picture.
    static func jpeg(kilobytes: Int) -> Data {
        func segment(_ marker: UInt8, _ payload: [UInt8]) -> [UInt8] {
            [0xFF, marker, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload
        }
        var generator = SystemRandomNumberGenerator()
        let picture = (0..<max(1, kilobytes) * 1_000).map { _ in UInt8.random(in: 0...0xFE, using: &generator) }
        return Data([0xFF, 0xD8] + segment(0xE0, Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
                    + segment(0xE1, Array("Exif\0\0MM\0*GPS 49.2827N 123.1207W".utf8))
                    + segment(0xDA, [1, 1, 0, 0, 63, 0]) + picture + [0xFF, 0xD9])
    }

    static func draft(_ data: Data) throws -> AttachmentDraft {
        AttachmentDraft(try ImageUpload.prepare(data))
    }

    /// The bytes of the files in `folder` (the SQLite file, its WAL and shared memory).
    static func bytes(in folder: URL) throws -> Int {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: [.fileSizeKey])
            .reduce(0) { $0 + ((try $1.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0) }
    }
}
