import Foundation
import Logging
import Outbox

extension ConciergeServer {
    /// The senders for the enabled channels that reply through a platform API:
    /// Slack (`chat.postMessage`, always), Telegram (`sendMessage`, when the bot
    /// token is set: replies with `reply: api`, and staff replies either way),
    /// and SMS (the Twilio Messages API, when `account_sid` and `from_number`
    /// are configured: staff replies), and REST (the integrator's
    /// `callback_url`, when configured: staff replies; without one they wait
    /// in the outbox, and show in the resident's status lookup).
    public func outboxSenders() throws -> [any OutboxSender] {
        var senders: [any OutboxSender] = []
        if let callback = configuration.rest?.callbackURL {
            senders.append(RESTCallbackSender(callbackURL: try Self.url(callback, "channels.rest.callback_url"),
                                              token: secrets.restToken))
        }
        if let slack = configuration.slack, let token = secrets.slackBotToken {
            senders.append(SlackSender(botToken: token, apiBase: try Self.url(slack.apiBase, "channels.slack.api_base")))
        }
        if let telegram = configuration.telegram, let token = secrets.telegramBotToken {
            senders.append(TelegramSender(botToken: token, apiBase: try Self.url(telegram.apiBase, "channels.telegram.api_base")))
        }
        if let twilio = configuration.twilio, let token = secrets.twilioAuthToken, let account = twilio.accountSID,
           let from = twilio.fromNumber {
            senders.append(TwilioSender(accountSID: account, authToken: token, from: from,
                                        apiBase: try Self.url(twilio.apiBase, "channels.twilio.api_base")))
        }
        return senders
    }

    /// The outbox worker for `outboxSenders()`, polling every
    /// `outbox.poll_seconds` and woken by each queued reply; nil when no
    /// channel sends through an API.
    public func outboxWorker(retry: RetryPolicy = RetryPolicy()) throws -> OutboxWorker? {
        let senders = try outboxSenders()
        guard !senders.isEmpty else { return nil }
        return OutboxWorker(store: store, senders: senders,
                            configuration: .init(pollInterval: configuration.outboxPollSeconds, retry: retry),
                            logger: Logger(label: "concierge.outbox"))
    }

    /// The fetchers for the photos residents send on platforms whose
    /// credentials are set: Telegram (`getFile`, with the bot token), Twilio
    /// (media URLs with `account_sid` and the auth token) and Slack
    /// (`url_private` with the bot token, from `files_base`).
    /// `timeout` bounds each request.
    public func mediaFetchers(timeout: TimeInterval = 30) throws -> [any MediaFetcher] {
        var fetchers: [any MediaFetcher] = []
        if let telegram = configuration.telegram, let token = secrets.telegramBotToken {
            fetchers.append(TelegramMediaFetcher(botToken: token, apiBase: try Self.url(telegram.apiBase, "channels.telegram.api_base"),
                                                 timeout: timeout))
        }
        if let twilio = configuration.twilio, let token = secrets.twilioAuthToken, let account = twilio.accountSID {
            fetchers.append(TwilioMediaFetcher(accountSID: account, authToken: token,
                                               apiBase: try Self.url(twilio.apiBase, "channels.twilio.api_base"), timeout: timeout))
        }
        if let slack = configuration.slack, let token = secrets.slackBotToken {
            fetchers.append(SlackMediaFetcher(botToken: token, filesBase: try Self.url(slack.filesBase, "channels.slack.files_base"),
                                              timeout: timeout))
        }
        return fetchers
    }

    /// The media worker for `mediaFetchers()`, keeping photos up to
    /// `photos.max_bytes` and telling a resident whose photo was not kept in
    /// `notice`'s words; nil when no channel's files can be fetched.
    /// `retry` and `timeout` are for tests; the defaults suit a server.
    public func mediaFetchWorker(notice: @escaping MediaFetchWorker.Notice, noticeQueued: @escaping @Sendable () -> Void = {},
                                 retry: RetryPolicy = MediaFetchWorker.Configuration().retry,
                                 timeout: TimeInterval = 30) throws -> MediaFetchWorker? {
        let fetchers = try mediaFetchers(timeout: timeout)
        guard !fetchers.isEmpty else { return nil }
        return MediaFetchWorker(store: store, fetchers: fetchers,
                                configuration: .init(retry: retry, maxBytes: configuration.photoMaxBytes),
                                notice: notice, noticeQueued: noticeQueued, logger: Logger(label: "concierge.media"))
    }

    static func url(_ text: String, _ setting: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ServerConfigurationError.invalidURL(setting: setting, value: text)
        }
        return url
    }
}
