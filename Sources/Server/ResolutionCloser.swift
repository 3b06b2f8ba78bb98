import Foundation
import Logging
import ServiceLifecycle
import Store

/// Closes the resolved tickets whose resident never answered "is it fixed?"
/// within `confirm_days` (confirmation `auto_closed`, an audited status change
/// by ``actor``): a pass at start, then every ``interval``. Safe on several
/// servers sharing one store: each pass is one transaction over the tickets
/// still resolved, so a ticket is closed once.
public struct ResolutionCloser: Service {
    /// The actor the audit log names for an automatic close.
    public static let actor = "concierge (no answer to \"is it fixed?\")"

    let store: any TicketStore
    let confirmDays: Double
    let interval: Duration
    let now: @Sendable () -> Date
    let logger: Logger

    public init(store: any TicketStore, confirmDays: Double, interval: Duration = .seconds(600),
                now: @escaping @Sendable () -> Date = Date.init, logger: Logger = Logger(label: "concierge.resolutions")) {
        self.store = store
        self.confirmDays = confirmDays
        self.interval = interval
        self.now = now
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await pass()
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
    }

    /// One pass: closes what waited too long; returns the numbers closed
    /// (an error is logged, and the next pass tries again).
    @discardableResult
    public func pass() async -> [Int] {
        let cutoff = now().addingTimeInterval(-confirmDays * 86_400)
        do {
            let closed = try await store.closeUnconfirmedResolutions(resolvedBefore: cutoff, actor: Self.actor)
            if !closed.isEmpty {
                logger.info("closed resolved tickets nobody confirmed", metadata: ["tickets": "\(closed)"])
            }
            return closed
        } catch {
            logger.error("could not close unconfirmed resolutions: \(error)")
            return []
        }
    }
}
