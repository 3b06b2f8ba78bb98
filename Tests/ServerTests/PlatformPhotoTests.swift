import AssistantTestSupport
import Dialogue
import Foundation
import Outbox
@testable import Server
import Store
import Testing
import TestSupport

/// Photos sent through Telegram, Twilio and Slack: recorded with the turn,
/// fetched afterwards by the real media worker from a fake of each platform's
/// API on loopback (real sockets both ways), checked, stripped and stored —
/// and every failure recorded and told, with the message and ticket kept.
@Suite struct PlatformPhotoTests {
    static let telegramToken = "123456:photo-token"
    static let jpegWithGPS = TestImages.greyJPEG(withGPS: true)
    static let png = TestImages.png(withMetadata: false)

    /// Every channel on, its API (and Slack's files) at `api`, photos up to `maxBytes`.
    static func configuration(api: LoopbackHTTPServer, maxBytes: Int = 10 * 1_048_576) -> ServerConfiguration {
        var configuration = RunningServer.configuration()
        configuration.telegram?.apiBase = api.baseURL.absoluteString
        configuration.twilio?.accountSID = "AC0000"
        configuration.twilio?.apiBase = api.baseURL.absoluteString
        configuration.slack?.filesBase = api.baseURL.absoluteString
        configuration.photoMaxBytes = maxBytes
        return configuration
    }

    static let secrets = ChannelSecrets(
        restToken: TestSecrets.restToken, telegramSecretToken: TestSecrets.telegramSecret, telegramBotToken: telegramToken,
        twilioAuthToken: TestSecrets.twilioToken, slackSigningSecret: TestSecrets.slackSecret, slackBotToken: TestSecrets.slackBotToken)

    /// A ticket filed just now for `externalID` on `channel`: a photo sent alone goes on it.
    func ticket(_ server: RunningServer, channel: String, externalID: String) async throws -> Int {
        try await server.store.createTicket(
            TicketDraft(category: "plumbing", priority: .p3, description: "water drips from the bathroom ceiling",
                        resident: ResidentInfo(channel: channel, externalID: externalID, language: "en")),
            actor: "concierge").number
    }

    @Test func aTelegramPhotoIsFetchedAfterTheReplyWithoutItsGPSAndOnlyOnce() async throws {
        let api = try LoopbackHTTPServer()
        defer { api.stop() }
        let token = Self.telegramToken
        api.enqueue(.json(200, #"{"ok":true,"result":{"file_id":"AgAD-large","file_unique_id":"l","file_size":\#(Self.jpegWithGPS.count),"file_path":"photos/file_7.jpg"}}"#),
                    for: "/bot\(token)/getFile?file_id=AgAD-large")
        api.enqueue(.init(status: 200, headers: ["Content-Type": "image/jpeg"], body: Data(Self.jpegWithGPS)),
                    for: "/file/bot\(token)/photos/file_7.jpg")
        try await RunningServer.with(configuration: Self.configuration(api: api), secrets: Self.secrets,
                                     triager: ScriptedTriager([])) { server in
            let number = try await ticket(server, channel: "telegram", externalID: "7001")
            let update: [String: Any] = ["update_id": 41, "message": [
                "message_id": 410, "date": 1_790_000_000, "chat": ["id": 7001, "type": "private"],
                "from": ["id": 7001, "is_bot": false, "first_name": "Mei", "language_code": "en"],
                "photo": [["file_id": "AgAD-small", "file_unique_id": "s", "width": 90, "height": 67, "file_size": 1_200],
                          ["file_id": "AgAD-large", "file_unique_id": "l", "width": 1280, "height": 960, "file_size": 2_000]],
            ] as [String: Any]]
            let headers = [("X-Telegram-Bot-Api-Secret-Token", TestSecrets.telegramSecret)]
            let reply = try await server.postJSON(path: "/webhooks/telegram", json: update, headers: headers)
            let text = try #require((reply.json as? [String: Any])?["text"] as? String)
            #expect(text.contains("#\(number)") && text.contains("photo"), "\(text)")
            #expect(api.requests.isEmpty, "the reply did not wait for the download")
            #expect(try await server.store.ticketDetail(number: number).attachments.map(\.fetch) == [.fetching])
            // Telegram sends the update again: nothing recorded twice.
            #expect(try await server.postJSON(path: "/webhooks/telegram", json: update, headers: headers).status == 200)

            let worker = try #require(try server.mediaWorker())
            #expect(await worker.fetchDue() == MediaFetchRound(stored: 1))
            let photos = try await server.store.ticketDetail(number: number).attachments
            #expect(photos.count == 1 && photos.first?.fetch == .stored && photos.first?.contentType == "image/jpeg")
            let stored = try await server.store.attachment(ticket: number, id: try #require(photos.first?.id)).data
            #expect([UInt8](stored) == TestImages.greyJPEG(withGPS: false), "stored without its EXIF GPS and comment")
            #expect(api.requests.map(\.path) == ["/bot\(token)/getFile?file_id=AgAD-large", "/file/bot\(token)/photos/file_7.jpg"],
                    "the largest size, fetched once")
            #expect(await worker.fetchDue() == MediaFetchRound())
        }
    }

    @Test func twilioMediaUseBasicAuthAndEachFailureIsRecordedAndTold() async throws {
        let api = try LoopbackHTTPServer()
        defer { api.stop() }
        let media = "/2010-04-01/Accounts/AC0000/Messages/MM1/Media"
        api.enqueue(.init(status: 200, headers: ["Content-Type": "image/png"], body: Data(Self.png)), for: "\(media)/ME0")
        api.enqueue(.json(404, #"{"code":20404,"message":"The requested resource was not found"}"#), for: "\(media)/ME1")
        api.enqueue(.init(status: 200, headers: ["Content-Type": "image/jpeg"], body: Data("not a picture".utf8)), for: "\(media)/ME2")
        api.enqueue(.init(status: 200, headers: ["Content-Type": "image/jpeg"], body: Data(Self.jpegWithGPS + [UInt8](repeating: 0, count: 5_000))),
                    for: "\(media)/ME3")
        let base = api.baseURL.absoluteString
        try await RunningServer.with(configuration: Self.configuration(api: api, maxBytes: 4_096), secrets: Self.secrets,
                                     triager: ScriptedTriager([])) { server in
            let number = try await ticket(server, channel: "sms", externalID: "+16045550100")
            let urls = ["\(base)\(media)/ME0", "\(base)\(media)/ME1", "\(base)\(media)/ME2", "\(base)\(media)/ME3",
                        "http://127.0.0.1:1\(media)/ME4"]
            let reply = try await server.sms("", sid: "MM1", media: urls.map { ($0, "image/jpeg") })
            #expect(reply.status == 200 && reply.text.contains("#\(number)"), "\(reply.text)")
            #expect(api.requests.isEmpty, "the TwiML did not wait for the downloads")

            let worker = try #require(try server.mediaWorker())
            #expect(await worker.fetchDue() == MediaFetchRound(stored: 1, failed: 4))
            let photos = try await server.store.ticketDetail(number: number).attachments
            #expect(photos.count == 5)
            #expect(photos.first?.fetch == .stored && photos.first?.contentType == "image/png")
            let reasons = photos.dropFirst().map { photo -> String in
                if case .failed(let reason) = photo.fetch { return reason }
                return "not failed: \(photo.fetch)"
            }
            #expect(reasons[0].contains("HTTP 404"), "\(reasons[0])")
            #expect(reasons[1].contains("not a JPEG, PNG, WebP or HEIC"), "\(reasons[1])")
            #expect(reasons[2].contains("4096-byte limit"), "\(reasons[2])")
            #expect(reasons[3].contains("is not on \(base)"), "only the platform's own host is fetched: \(reasons[3])")
            let auth = "Basic " + Data("AC0000:\(TestSecrets.twilioToken)".utf8).base64EncodedString()
            #expect(api.requests.count == 4 && api.requests.allSatisfy { $0.header("Authorization") == auth })

            // The resident is told on their channel, once per photo not kept; their words and ticket stand.
            let told = try await server.store.dueOutbox(now: .distantFuture, channel: "sms", recipient: "+16045550100").map(\.text)
            #expect(told.filter { $0.contains("couldn't download") }.count == 2, "\(told)")
            #expect(told.filter { $0.contains("couldn't be kept") }.count == 2, "\(told)")
            let detail = try await server.store.ticketDetail(number: number)
            #expect(detail.ticket.status.isOpen)
            #expect(await worker.fetchDue() == MediaFetchRound(), "a failure is final")
        }
    }

    @Test func aSlackFileIsFetchedWithTheBotTokenAfterASlowServerTimesOut() async throws {
        let calls = Counter()
        let slowAnswered = Counter()
        let png = Self.png
        let api = try LoopbackHTTPServer { request in
            // The first answer comes well after the fetch's timeout (3 s); the next at once.
            calls.increment()
            if calls.value == 1 {
                Thread.sleep(forTimeInterval: 6)
                slowAnswered.increment()
            }
            guard request.header("Authorization") == "Bearer \(TestSecrets.slackBotToken)" else { return .json(403, "{}") }
            return .init(status: 200, headers: ["Content-Type": "image/png"], body: Data(png))
        }
        defer { api.stop() }
        let base = api.baseURL.absoluteString
        try await RunningServer.with(configuration: Self.configuration(api: api), secrets: Self.secrets,
                                     triager: ScriptedTriager([])) { server in
            let number = try await ticket(server, channel: "slack", externalID: "U123")
            var envelope = RunningServer.slackMessage(eventID: "EvPhoto1", text: "", subtype: "file_share")
            var event = try #require(envelope["event"] as? [String: Any])
            event["files"] = [["id": "F1", "mimetype": "image/png", "size": png.count, "url_private": "\(base)/files-pri/T1-F1/leak.png"],
                              ["id": "F2", "mimetype": "application/pdf", "size": 900, "url_private": "\(base)/files-pri/T1-F2/lease.pdf"]]
            envelope["event"] = event
            #expect(try await server.slack(envelope).status == 200)
            let reply = try #require(try await server.store.dueOutbox(now: .distantFuture, channel: "slack").last?.text)
            #expect(reply.contains("couldn't keep that file") && reply.contains("#\(number)"), "the PDF is refused at once: \(reply)")

            let worker = try #require(try server.mediaWorker(timeout: 3))
            #expect(await worker.fetchDue() == MediaFetchRound(retried: 1))
            #expect(try await server.store.ticketDetail(number: number).attachments.map(\.fetch) == [.fetching])
            // Past the test backoff (20–40 ms) and the slow answer (the client may queue behind its connection).
            for _ in 0..<200 where slowAnswered.value == 0 { try await Task.sleep(nanoseconds: 50_000_000) }
            #expect(await worker.fetchDue() == MediaFetchRound(stored: 1))
            let photo = try #require(try await server.store.ticketDetail(number: number).attachments.first)
            #expect(photo.fetch == .stored)
            #expect(try await server.store.attachment(ticket: number, id: photo.id).data == Data(png))
            #expect(api.requests.allSatisfy { $0.path == "/files-pri/T1-F1/leak.png" }, "the PDF is never fetched")
        }
    }
}

extension RunningServer {
    /// The server's media worker, with retries milliseconds apart, telling
    /// residents in the fixture pack's words.
    func mediaWorker(timeout: TimeInterval = 5) throws -> MediaFetchWorker? {
        let wording = PhotoFetchWording(pack: CommunityFixture.pack, maxBytes: server.configuration.photoMaxBytes)
        return try server.mediaFetchWorker(notice: { wording.text(language: $0, ticket: $1, refused: $2) },
                                           retry: RetryPolicy(initialDelay: 0.02, maximumDelay: 0.1), timeout: timeout)
    }
}
