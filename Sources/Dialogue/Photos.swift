import DataPack
import Foundation
import Media
import Store

/// An image that came with a message, as the channel received it.
public struct InboundAttachment: Sendable, Equatable {
    public var data: Data
    /// What the channel said it is (never trusted: the bytes decide).
    public var declaredType: String?

    public init(data: Data, declaredType: String? = nil) {
        self.data = data
        self.declaredType = declaredType
    }
}

/// A file a platform keeps, named in its webhook: recorded with the turn and
/// fetched by the media worker after the reply (the reply never waits for it).
public struct RemoteMedia: Sendable, Equatable {
    public var reference: MediaReference
    /// The size the platform reported, when it did: a file over the cap is refused at once.
    public var byteCount: Int?

    public init(_ reference: MediaReference, byteCount: Int? = nil) {
        self.reference = reference
        self.byteCount = byteCount
    }

    /// Whether it may be a photo Concierge keeps, by what the platform said:
    /// an `image/…` type (or none given) and no more than `maxBytes`. The
    /// bytes still decide once fetched.
    func mayBePhoto(maxBytes: Int) -> Bool {
        let declaresImage = reference.declaredType.map { $0.lowercased().hasPrefix("image/") } ?? true
        return declaresImage && (byteCount ?? 0) <= maxBytes
    }
}

/// What a resident is told when a photo a platform kept could not be kept
/// after the reply (the media worker queues it to their channel).
public struct PhotoFetchWording: Sendable {
    let pack: DataPack
    let maxBytes: Int

    public init(pack: DataPack, maxBytes: Int = ImageUpload.defaultMaxBytes) {
        self.pack = pack
        self.maxBytes = maxBytes
    }

    /// In `language` (English when unknown), for `ticket` when the photo was
    /// for one; `refused` when the bytes are not a photo Concierge keeps, else
    /// the download failed for good.
    public func text(language: String?, ticket: Int?, refused: Bool) -> String {
        Phrases(language: language.flatMap(Language.init(rawValue:)) ?? .en, pack: pack)
            .photoNotKept(ticket: ticket, refused: refused, maxBytes: maxBytes)
    }
}

extension AttachmentDraft {
    /// The store's draft of a checked image.
    public init(_ image: PreparedImage) {
        self.init(contentType: image.contentType, data: image.data, sha256: image.sha256)
    }
}

/// A message's images after checking: what will be stored, and how many were refused.
struct TurnImages: Equatable {
    var accepted: [AttachmentDraft] = []
    var refused = 0

    var isEmpty: Bool { accepted.isEmpty && refused == 0 }

    /// Checks each attachment (type by magic bytes, size cap, metadata
    /// stripped); a platform's file is taken to fetch later unless what the
    /// platform said of it already rules it out (not an image, too large).
    init(_ attachments: [InboundAttachment] = [], remote: [RemoteMedia] = [], maxBytes: Int = ImageUpload.defaultMaxBytes) {
        for attachment in attachments {
            if let image = try? ImageUpload.prepare(attachment.data, declaredType: attachment.declaredType, maxBytes: maxBytes) {
                accepted.append(AttachmentDraft(image))
            } else {
                refused += 1
            }
        }
        for media in remote {
            if media.mayBePhoto(maxBytes: maxBytes) {
                accepted.append(AttachmentDraft(fetching: media.reference))
            } else {
                refused += 1
            }
        }
    }
}

extension ConversationEngine {
    /// The text a message that is only a photo is recorded with.
    static let photoOnlyText = "📷"

    /// A message that is only photos: they join the request being taken
    /// down, or the resident's ticket filed within the last hour (and the
    /// reply says so); otherwise they wait for the request that follows and
    /// the resident is asked what the problem is. No triage: there are no words.
    func photoOnly(_ context: TurnContext, state: DialogueState) -> Plan {
        let say = context.say
        var plan = Plan(state: state, reply: nil)
        plan.attachments = context.images.accepted
        let refusal = context.images.refused > 0 ? say.photoRefused(maxBytes: maxPhotoBytes) + " " : ""
        if context.images.accepted.isEmpty {
            plan.reply = say.photoRefused(maxBytes: maxPhotoBytes)
        } else if state.pending?.requestBeingFiled == true, let ticket = context.facts.ownOpenTickets.first {
            plan.attachTo = ticket.number
            plan.reply = refusal + say.photoAdded(to: ticket.number, askIfOther: false)
        } else if state.pending?.requestBeingTaken == true {
            plan.reply = refusal + say.photoHeldForRequest + (pendingQuestion(state, say: say).map { "\n\n" + $0 } ?? "")
        } else if let ticket = context.facts.ownOpenTickets.first(where: {
            context.facts.now.timeIntervalSince($0.createdAt) <= Self.justFiled
        }) {
            plan.attachTo = ticket.number
            plan.reply = refusal + say.photoAdded(to: ticket.number, askIfOther: true)
        } else {
            plan.reply = refusal + say.photoAskWhatsWrong
        }
        return plan
    }

    /// How recent a resident's ticket is for a photo sent alone to go on it.
    static let justFiled: TimeInterval = 3_600

    /// Where a message's photos go once its words are decided: the ticket
    /// this turn files; the request being taken down; the resident's newest
    /// open ticket when the words start nothing new ("here's a picture");
    /// else they wait for the next request, and the resident is told.
    func placePhotos(_ plan: inout Plan, context: TurnContext, before state: DialogueState) {
        let say = context.say
        let images = context.images
        guard !images.isEmpty else { return }
        plan.attachments = images.accepted
        var notes: [String] = images.refused > 0 ? [say.photoRefused(maxBytes: maxPhotoBytes)] : []
        if !images.accepted.isEmpty {
            if !plan.tickets.isEmpty || plan.state.pending?.requestBeingTaken == true || state.pending?.requestBeingTaken == true {
                notes.append(say.photoHeldForRequest)
            } else if let ticket = context.facts.ownOpenTickets.first {
                plan.attachTo = ticket.number
                notes.append(say.photoAdded(to: ticket.number, askIfOther: false))
            } else {
                notes.append(say.photoAskWhatsWrong)
            }
        }
        plan.reply = ([plan.reply].compactMap { $0 } + notes).joined(separator: "\n\n")
    }
}

extension DialogueState.Pending {
    /// True while a request is being taken down, not yet filed: photos sent
    /// now wait for it.
    var requestBeingTaken: Bool {
        switch self {
        case .intake, .duplicate, .clarify: true
        default: false
        }
    }

    /// True while a request filed at once (an emergency, a possible one) is
    /// being completed: photos sent now go on it (the resident's newest).
    var requestBeingFiled: Bool {
        switch self {
        case .safetyCheck, .emergencyLocation: true
        default: false
        }
    }
}
