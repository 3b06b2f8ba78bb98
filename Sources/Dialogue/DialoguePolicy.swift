import DataPack
import Foundation
import Store
import Triage

/// The conversation policy: what to answer, given the state and the triage.
///
/// Order of precedence for each message:
/// 1. an emergency (a safety rule fired, or the model says P1) is filed at
///    once, with the community's guidance, whatever was pending;
/// 2. a confident "talk to a human", "cancel" or "status" works at any point;
/// 3. otherwise a pending question takes the message as its answer;
/// 4. otherwise the triage decides: a request starts an intake, a question
///    gets its answer, an unsure decision gets a clarifying question.
extension ConversationEngine {
    /// One turn: triage the message, read what the policy needs from the store
    /// (``TurnFacts``), then ``decide(_:state:decision:)`` — which reads and
    /// writes nothing and runs no model. The engine commits the plan.
    func respond(to context: TurnContext, state: DialogueState) async throws -> Plan {
        var context = context
        if context.photoOnly {
            let tickets = try await store.residentTickets(channel: context.message.channel, externalID: context.message.senderID)
            context.facts = TurnFacts(now: now(), residentTickets: tickets)
            return photoOnly(context, state: state)
        }
        // Staff see why a request was triaged so: a message that may become a
        // ticket is explained now, and the decision travels with the intake.
        let decision = try triager.triage(context.text, explaining: explanationPolicy(context, state: state))
        context.facts = try await facts(for: context, state: state, decision: decision)
        context.facts.clarifiedDecision = try clarifiedDecision(state)
        var plan = try decide(context, state: state, decision: decision)
        placePhotos(&plan, context: context, before: state)
        plan.decision = decision
        return plan
    }

    /// Which messages are explained: with nothing pending, any that may become
    /// a ticket (a request, or one a clarifying question is about); while a
    /// request is being taken down, only a request of its own (an answer
    /// rarely is, and explaining every answer would cost each turn an
    /// occlusion pass).
    func explanationPolicy(_ context: TurnContext, state: DialogueState) -> Triager.ExplanationPolicy {
        if context.message.explain { return .always }
        switch state.pending {
        case nil, .clarify?: return .possibleRequests
        default: return .serviceRequests
        }
    }

    /// The triage of the message a pending clarifying question is about, as it
    /// stands: the one kept from when it was asked, or, once the resident has
    /// added words to it, the triage of the longer text (explained, since it
    /// becomes a request when the resident chooses).
    func clarifiedDecision(_ state: DialogueState) throws -> TriageDecision? {
        guard case let .clarify(_, message, followUp) = state.pending else { return nil }
        if let kept = followUp?.decision, kept.text == message { return kept }
        return try triager.triage(message, explaining: .always)
    }

    /// What the policy may need this turn: the resident's tickets, and the
    /// open tickets of the duplicate window in each category the turn may
    /// file under (the pending request's, the ones the message reads as, the
    /// options of a pending clarifying question).
    func facts(for context: TurnContext, state: DialogueState, decision: TriageDecision) async throws -> TurnFacts {
        let now = now()
        let tickets = try await store.residentTickets(channel: context.message.channel, externalID: context.message.senderID)
        var categories = Set<String>()
        switch state.pending {
        case .intake(let intake), .duplicate(let intake, _), .safetyCheck(let intake, _): categories.insert(intake.category)
        case .clarify(let options, _, _): categories.formUnion(options)
        default: break
        }
        if state.pending != nil || decision.kind == .serviceRequest {
            categories.formUnion([decision.category].compactMap { $0 } + decision.alternatives.map(\.label))
        }
        let recent = try await store.openTickets(categories: categories.intersection(triager.serviceCategories),
                                                 since: now.addingTimeInterval(-duplicateWindow))
        return TurnFacts(now: now, residentTickets: tickets, recentOpenTickets: recent)
    }

    /// The policy: the plan for this message, from the state, the triage
    /// decision and the facts read before (`context.facts`). No I/O.
    func decide(_ context: TurnContext, state initial: DialogueState, decision: TriageDecision) throws -> Plan {
        var state = initial
        return try respond(to: context, state: &state, decision: decision)
    }

    private func respond(to context: TurnContext, state: inout DialogueState, decision: TriageDecision) throws -> Plan {
        // 1. Certain emergencies first (a safety rule fired, or the model is
        // sure and the message does not deny the hazard): filed at once,
        // whatever was pending. Possible ones ask the safety question when
        // the request starts (`beginRequest`).
        if let plan = try certainEmergency(context, decision: decision, state: &state) { return plan }
        // 2. What works at any point: a handoff, cancel, status, a courtesy, a clear question.
        if let plan = try interruption(context, decision: decision, state: &state) { return plan }
        // 3. A pending question.
        if let pending = state.pending {
            if let plan = try answer(pending, context: context, decision: decision, state: &state) { return plan }
        }
        state.pending = nil
        // 4. A ticket waiting on the resident: staff's question, "is it fixed?".
        if let plan = waitingTicketReply(context, decision: decision, state: &state) { return plan }
        // 5. A new message.
        return try newMessage(context, decision: decision, state: &state)
    }

    /// A certain emergency is filed at once (with the pending request's
    /// details, if one was being taken down); nil when there is none, when the
    /// message is the answer to the question asked, or when it still
    /// describes an emergency just filed (then it says where it is).
    private func certainEmergency(_ context: TurnContext, decision: TriageDecision, state: inout DialogueState) throws -> Plan? {
        guard decision.kind == .serviceRequest, decision.emergency == .certain,
              !answersPendingDetail(context.text, decision: decision, state: state) else { return nil }
        if case .emergencyLocation = state.pending, decision.safety == nil { return nil }
        var intake: Intake
        if case .intake(let pending) = state.pending {
            intake = pending
            intake.description += "\n" + context.text
            intake.priority = ClassifierSettings.emergencyPriority
            intake.safetyRule = decision.safety?.rule ?? intake.safetyRule
            if let unit = TextCues.unit(in: context.text) { intake.unit = unit }
            if intake.location == nil, let place = TextCues.places(in: context.text).first { intake.location = place.text }
        } else {
            intake = try startIntake(decision, category: decision.category ?? "safety_hazard", context: context)
        }
        return try fileEmergency(intake, decision: decision, state: &state, say: context.say)
    }

    /// What interrupts whatever is pending: a clear handoff, cancel or status
    /// request; a clear courtesy mid-request (answered, the question asked
    /// again); a clear question mid-request (its FAQ answered, the question
    /// asked again). Nil when the message may be the answer to what is pending.
    private func interruption(_ context: TurnContext, decision: TriageDecision, state: inout DialogueState) throws -> Plan? {
        let say = context.say
        // While the assistant waits for an answer, a conversation intent
        // interrupts only when clear: a short answer like "工作日晚上" (weekday
        // evenings) can read a little like anything, and is then taken as the answer.
        let clearEnough = state.pending == nil || decision.confidence >= Self.clearInterruption
        let confidentIntent = decision.kind == .conversation && !decision.needsClarification && clearEnough
            ? ConversationIntentID(rawValue: decision.intent) : nil
        switch confidentIntent {
        case .humanHandoff:
            state.pending = nil
            return Plan(state: state, reply: handoffReply(say, now: context.facts.now), handoff: true)
        case .cancelTicket:
            if let pending = state.pending, pending.isIntake {
                state.pending = nil
                return Plan(state: state, reply: say.notFiled)
            }
            state.pending = nil
            return try cancelFlow(context, state: &state)
        case .ticketStatus:
            var plan = try statusReply(context, decision: decision, state: state)
            if let question = pendingQuestion(state, say: say) { plan.reply = (plan.reply ?? "") + "\n\n" + question }
            return plan
        case let courtesy? where courtesy.isCourtesy:
            // Courtesies mid-request ("thank you so much"): answer them and keep
            // the request where it was. Only when clearly one: an answer that
            // names a unit or a place ("在4B室" reads a little like a greeting)
            // or a time ("this evening" is not "good evening") is an answer.
            if let question = pendingQuestion(state, say: say),
               TextCues.unit(in: context.text) == nil, TextCues.places(in: context.text).isEmpty,
               !TextCues.saysWhen(context.text) {
                return Plan(state: state, reply: words(for: courtesy, context: context) + "\n\n" + question)
            }
        default:
            break
        }
        return questionMidRequest(context, decision: decision, state: state)
    }

    /// A clear question mid-request ("when is the pool open?") is answered,
    /// and the pending question asked again. Not when it could be the answer:
    /// a yes/no, a unit, or a place while asking where; nor a message not put
    /// as a question unless the model is as sure as a conversation intent must
    /// be ("anytime", asked when suits, reads like the trash-days FAQ at 0.66).
    /// A question put as one interrupts even when the model is unsure which
    /// FAQ it is: its best guess is answered.
    private func questionMidRequest(_ context: TurnContext, decision: TriageDecision, state: DialogueState) -> Plan? {
        var askingWhere = false
        if case .intake(let intake) = state.pending { askingWhere = intake.asking == "location" }
        guard decision.kind == .faq, let faq = decision.faq,
              TextCues.readsAsQuestion(context.text) || (decision.confidence >= Self.clearInterruption && !decision.needsClarification),
              let question = pendingQuestion(state, say: context.say), TextCues.yesNo(context.text) == nil,
              TextCues.unit(in: context.text) == nil, !(askingWhere && !TextCues.places(in: context.text).isEmpty),
              let answer = context.say.faqAnswer(faq) else { return nil }
        return Plan(state: state, reply: answer + "\n\n" + question)
    }

    /// A message with nothing pending. Unsure: offer the plausible requests and
    /// questions (never conversation intents), or for a request no category
    /// of which is plausible alone, its likeliest categories; unless the top
    /// one is the only option. Otherwise a request starts, a question is answered, a
    /// conversation intent is acted on, anything else is declined politely.
    private func newMessage(_ context: TurnContext, decision: TriageDecision, state: inout DialogueState) throws -> Plan {
        let say = context.say
        var options = decision.alternatives.filter {
            (triager.serviceCategories.contains($0.label) || $0.label.hasPrefix("faq.")) && $0.probability >= Self.plausible
        }.map(\.label)
        if options.isEmpty, decision.kind == .serviceRequest, decision.needsClarification {
            // A request, but no category plausible on its own: offer the
            // likeliest categories rather than guess one.
            options = decision.alternatives.map(\.label).filter(triager.serviceCategories.contains)
        }
        if decision.needsClarification, !decision.outOfScope, !options.isEmpty,
           options.count >= 2 || options[0] != decision.intent {
            let offered = Array(options.prefix(3))
            state.pending = .clarify(options: offered, message: context.text, followUp: ClarifyFollowUp(decision: decision))
            return Plan(state: state, reply: say.clarify(offered))
        }
        switch decision.kind {
        case .serviceRequest:
            let intake = try startIntake(decision, category: decision.category ?? "building_maintenance", context: context)
            return try beginRequest(intake, decision: decision, context: context, state: &state)
        case .faq:
            return Plan(state: state, reply: say.faqAnswer(decision.faq ?? "") ?? say.capabilities)
        case .outOfScope:
            return Plan(state: state, reply: say.outOfScope)
        case .conversation:
            guard let intent = ConversationIntentID(rawValue: decision.intent) else { return Plan(state: state, reply: say.okay) }
            switch intent {
            case .ticketStatus: return try statusReply(context, decision: decision, state: state)
            case .cancelTicket: return try cancelFlow(context, state: &state)
            case .addDetails: return try addDetailsFlow(context, state: &state)
            case .greet, .thanks, .goodbye: return Plan(state: state, reply: words(for: intent, context: context))
            case .humanHandoff: return Plan(state: state, reply: handoffReply(say, now: context.facts.now), handoff: true)
            case .affirm, .deny: return Plan(state: state, reply: say.okay)   // a yes or no with nothing asked
            }
        }
    }

    /// The words for a courtesy: a greeting (by name when known), thanks, goodbye.
    private func words(for courtesy: ConversationIntentID, context: TurnContext) -> String {
        switch courtesy {
        case .greet: context.say.greeting(name: context.message.displayName)
        case .thanks: context.say.thanks
        default: context.say.goodbye
        }
    }

    // MARK: Pending questions

    /// The answer to what the last reply asked, or nil when the message is
    /// something new (the pending question is then dropped).
    private func answer(_ pending: DialogueState.Pending, context: TurnContext, decision: TriageDecision,
                        state: inout DialogueState) throws -> Plan? {
        let say = context.say
        let intent = ConversationIntentID(rawValue: decision.intent)
        let yesNo = TextCues.yesNo(context.text) ?? (intent == .affirm ? .yes : intent == .deny ? .no : nil)
        switch pending {
        case .intake(let intake):
            return try answerIntake(intake, context: context, decision: decision, yesNo: yesNo, state: &state)

        case let .duplicate(intake, ticket):
            switch yesNo {
            case .yes:
                state.pending = nil
                return Plan(state: state, reply: say.linked(ticket), actions: [.linkReport(ticket: ticket, text: intake.description)])
            case .no:
                var intake = intake
                intake.asking = nil
                intake.duplicateDeclined = true
                return try continueIntake(intake, lead: nil, context: context, state: &state)
            case nil:
                return nil
            }

        case let .clarify(options, message, followUp):
            guard let index = TextCues.choice(context.text, count: options.count + 1)
                    ?? options.firstIndex(where: { context.say.optionTitle($0).lowercased() == context.text.lowercased() }) else {
                return try notAChoice(options: options, message: message, followUp: followUp ?? ClarifyFollowUp(),
                                            context: context, decision: decision, state: &state)
            }
            state.pending = nil
            guard index < options.count else { return Plan(state: state, reply: say.rephrase) }
            return try clarified(options[index], message: message, followUp: followUp, confirmed: true,
                                       context: context, state: &state)

        case let .safetyCheck(intake, askedAgain):
            return try safetyAnswer(intake, askedAgain: askedAgain, yesNo: yesNo, context: context, state: &state)

        case let .confirmCancel(ticket):
            guard let yesNo else { return nil }
            state.pending = nil
            if yesNo == .no { return Plan(state: state, reply: say.keptTicket) }
            return Plan(state: state, reply: say.cancelled(ticket), actions: [.cancel(ticket: ticket)])

        case let .addDetails(ticket):
            state.pending = nil
            return Plan(state: state, reply: say.addedDetails(ticket), actions: [.addDetails(ticket: ticket, text: context.text)])

        case let .emergencyLocation(category):
            state.pending = nil
            return emergencyLocation(category, context: context, state: state)

        case let .rating(ticket):
            return ratingReply(context, ticket: ticket, state: &state)
        }
    }

    /// The answer to a request's question (a detail, or the summary's yes/no):
    /// a correction of the category first ("no, it's the heating"); a detail
    /// that fits is recorded, one that does not is asked once more; at the
    /// summary yes files, no asks what to change, anything else is added.
    private func answerIntake(_ pending: Intake, context: TurnContext, decision: TriageDecision, yesNo: TextCues.YesNo?,
                              state: inout DialogueState) throws -> Plan {
        let say = context.say
        var intake = pending
        if let corrected = correctedCategory(decision, intake: intake, yesNo: yesNo) {
            intake = recategorised(intake, to: corrected)
            return try continueIntake(intake, lead: say.changedCategory(corrected), context: context, state: &state)
        }
        if let detail = intake.asking {
            if fits(context.text, detail: detail, decision: decision, yesNo: yesNo) {
                record(answer: context.text, for: detail, in: &intake, yesNo: yesNo, knownUnit: context.knownUnit)
            } else if intake.reasked != detail {
                // Off-topic, or a place given for a time: not stored; asked once more.
                intake.reasked = detail
                state.pending = .intake(intake)
                return Plan(state: state, reply: say.askAgain(detail))
            }
            intake.remaining.removeAll { $0 == detail }
            intake.asking = nil
            return try continueIntake(intake, lead: nil, context: context, state: &state)
        }
        switch yesNo {
        case .yes:
            return try file(intake, state: &state, say: say)
        case .no:
            state.pending = .intake(intake)
            return Plan(state: state, reply: say.whatToChange)
        case nil:
            // Neither yes nor no: more about the problem.
            intake.description += "\n" + context.text
            state.pending = .intake(intake)
            return Plan(state: state, reply: say.summary(intake))
        }
    }

    /// Just after an emergency was filed: where it is, when asked, or a unit
    /// or place named now ("it's 4C, right next to me") belongs to that
    /// ticket, not to a new request. Nil: something new.
    private func emergencyLocation(_ category: String, context: TurnContext, state: DialogueState) -> Plan? {
        let tickets = context.facts.residentTickets
        guard let ticket = tickets.first(where: { $0.ticket.category == category && $0.ticket.status.isOpen })?.ticket else {
            return nil
        }
        let asked = ticket.unit == nil && ticket.location == nil
        let namesWhere = TextCues.unit(in: context.text) != nil || !TextCues.places(in: context.text).isEmpty
        guard asked || namesWhere else { return nil }
        return Plan(state: state, reply: context.say.addedLocation(ticket: ticket.number),
                    actions: [.addDetails(ticket: ticket.number, text: context.text)])
    }

    /// The request (or question) of a clarified message: `label` is the
    /// option chosen (`confirmed`) or, after asking twice, the best one.
    /// The resident's own first message stays the description, with the unit
    /// or place they gave since.
    private func clarified(_ label: String, message: String, followUp: ClarifyFollowUp?, confirmed: Bool,
                           context: TurnContext, state: inout DialogueState) throws -> Plan {
        let say = context.say
        if label.hasPrefix("faq.") {
            return Plan(state: state, reply: say.faqAnswer(String(label.dropFirst(4))) ?? say.capabilities)
        }
        guard var original = context.facts.clarifiedDecision else { throw DialogueError.missingClarifiedDecision }
        original.category = label
        original.kind = .serviceRequest
        var intake = try startIntake(original, category: label, context: context, text: message)
        if let unit = followUp?.unit { intake.unit = unit }
        if let location = followUp?.location, intake.location == nil { intake.location = location }
        intake.remaining = details(for: label).filter { !isAnswered($0, intake) }
        intake.categoryConfirmed = confirmed
        if original.emergency == .certain {
            return try fileEmergency(intake, decision: original, state: &state, say: say)
        }
        return try beginRequest(intake, decision: original, context: context, state: &state)
    }

    /// An answer to a clarifying question that is not one of its choices.
    /// A confident request or question of its own is the option it names,
    /// or else something new (nil). Otherwise the pending request is kept: a unit or
    /// place is noted for it, more words (the first time) join its
    /// description, and the choice is asked again, once; after that, the best
    /// option is taken (the summary still asks the resident to confirm).
    private func notAChoice(options: [String], message: String, followUp: ClarifyFollowUp, context: TurnContext,
                            decision: TriageDecision, state: inout DialogueState) throws -> Plan? {
        if !decision.needsClarification, decision.kind == .serviceRequest || decision.kind == .faq {
            // Sure of its own reading: one of the options ("it's the plumbing"), or something new.
            if let label = decision.kind == .faq ? decision.faq.map({ "faq." + $0 }) : decision.category, options.contains(label) {
                return try clarified(label, message: message, followUp: followUp, confirmed: true, context: context,
                                           state: &state)
            }
            return nil
        }
        let unit = TextCues.unit(in: context.text)
        let place = TextCues.places(in: context.text).first
        // "unit 7777", "in the lobby": where, not what.
        let onlyWhere = (unit != nil || place != nil) && context.text.split(whereSeparator: \.isWhitespace).count <= 4
        var followUp = followUp
        followUp.unit = unit ?? followUp.unit
        if let place { followUp.location = Phrases.quoted(context.text) }
        if !followUp.askedAgain {
            // Anything longer than where says more about the problem.
            followUp.askedAgain = true
            state.pending = .clarify(options: options, message: onlyWhere ? message : message + "\n" + context.text,
                                     followUp: followUp)
            let noted = unit.map { context.say.unitName($0) } ?? place.map { _ in Phrases.quoted(context.text) }
            return Plan(state: state, reply: context.say.clarifyAgain(options, noted: noted))
        }
        // Asked twice: the best option, with the description as it stands (the summary asks to confirm).
        state.pending = nil
        guard let best = options.first(where: { triager.serviceCategories.contains($0) }) ?? options.first else { return nil }
        return try clarified(best, message: message, followUp: followUp, confirmed: false, context: context, state: &state)
    }

    // MARK: Possible emergencies

    /// A new request: a possible emergency is filed at once (P2, flagged
    /// unconfirmed, so nothing is lost if the resident never answers) and the
    /// resident asked the safety question; anything else goes on to its questions.
    private func beginRequest(_ intake: Intake, decision: TriageDecision, context: TurnContext,
                              state: inout DialogueState) throws -> Plan {
        let say = context.say
        guard decision.emergency == .possible else {
            return try continueIntake(intake, lead: say.understood(intake), context: context, state: &state)
        }
        var unconfirmed = intake
        unconfirmed.priority = TicketDrafting.unconfirmedEmergencyPriority
        state.pending = .safetyCheck(intake, askedAgain: false)
        return Plan(state: state, reply: say.understood(intake) + " " + say.safetyQuestion(filed: true),
                    tickets: [try draft(unconfirmed, emergency: .unconfirmed)])
    }

    /// The resident's answer to the safety question. Yes: the ticket becomes
    /// P1 (resident confirmed), with the emergency number and "where?".
    /// No: it takes the best priority below P1 and the request's questions
    /// follow. Anything else: asked again once; then the message is taken as
    /// something new, and the ticket stays flagged for staff.
    private func safetyAnswer(_ intake: Intake, askedAgain: Bool, yesNo: TextCues.YesNo?, context: TurnContext,
                              state: inout DialogueState) throws -> Plan? {
        let say = context.say
        guard let ticket = context.facts.ownOpenTickets.first(where: { $0.emergency == .unconfirmed }) else {
            // Staff already settled it (or closed it): carry on with the request.
            state.pending = nil
            return yesNo == nil ? nil : try continueIntake(intake, lead: nil, context: context, state: &state)
        }
        switch yesNo {
        case .yes:
            let located = isAnswered("location", intake)
            state.pending = .emergencyLocation(category: intake.category)
            let lines = [say.emergencyCall, say.emergencyConfirmed(ticket: ticket.number), located ? nil : say.emergencyWhere]
            return Plan(state: state, reply: lines.compactMap { $0 }.joined(separator: "\n"),
                        actions: [.confirmEmergency(ticket: ticket.number)])
        case .no:
            var intake = intake
            intake.filedTicket = ticket.number
            var plan = try continueIntake(intake, lead: say.noDanger(priority: intake.priority), context: context,
                                                state: &state)
            plan.actions.insert(.settleEmergency(ticket: ticket.number, priority: intake.priority),
                                at: 0)
            return plan
        case nil where !askedAgain:
            state.pending = .safetyCheck(intake, askedAgain: true)
            return Plan(state: state, reply: say.safetyQuestion(filed: false))
        case nil:
            state.pending = nil
            return nil
        }
    }


    /// The question a pending state is waiting on, to repeat after a side answer.
    func pendingQuestion(_ state: DialogueState, say: Phrases) -> String? {
        switch state.pending {
        case .intake(let intake): intake.asking.map(say.detailQuestion) ?? say.summary(intake)
        default: nil
        }
    }

    /// Whether `text` answers the question about `detail`. Not when it is
    /// clearly something else: a question out of scope ("who won the hockey
    /// game last night"), or confidently out of scope with nothing an answer
    /// would hold (a yes or no, a unit, a place, a time, a number), or,
    /// asked when, a place and no time ("3号楼").
    private func fits(_ text: String, detail: String, decision: TriageDecision, yesNo: TextCues.YesNo?) -> Bool {
        if decision.kind == .outOfScope || decision.kind == .faq, TextCues.readsAsQuestion(text) { return false }
        let namesWhere = TextCues.unit(in: text) != nil || !TextCues.places(in: text).isEmpty
        let saysWhen = TextCues.saysWhen(text)
        if ["when", "best_time"].contains(detail), namesWhere, !saysWhen, yesNo == nil { return false }
        let holdsAnAnswer = yesNo != nil || namesWhere || saysWhen || text.contains(where: \.isNumber)
        let offTopic = decision.kind == .outOfScope && !decision.needsClarification && decision.confidence >= Self.clearInterruption
        return holdsAnAnswer || !offTopic
    }

    /// True when, during a request's questions, `text` reads as an answer (it
    /// holds a unit, a place, a time or a yes/no, and fits the question asked)
    /// and only the model saw an emergency in it: "现在，在门口" (now, at the
    /// door) is when, not a new emergency. Short answers are outside what the
    /// model learned from; a safety rule still files at once.
    private func answersPendingDetail(_ text: String, decision: TriageDecision, state: DialogueState) -> Bool {
        guard decision.safety == nil, case .intake(let intake) = state.pending else { return false }
        let yesNo = TextCues.yesNo(text)
        let holdsAnAnswer = yesNo != nil || TextCues.unit(in: text) != nil || !TextCues.places(in: text).isEmpty
            || TextCues.saysWhen(text)
        guard let detail = intake.asking else { return holdsAnAnswer }
        return holdsAnAnswer && fits(text, detail: detail, decision: decision, yesNo: yesNo)
    }

    /// A category the resident names while correcting ("no, it's the heating"):
    /// a service category the model ranks high that is not the current one.
    /// Once the resident has chosen the category (from a clarifying question),
    /// only a "no" changes it: "unit 1710, living room" is where, not a new category.
    private func correctedCategory(_ decision: TriageDecision, intake: Intake, yesNo: TextCues.YesNo?) -> String? {
        let current = intake.category
        guard decision.kind == .serviceRequest || yesNo == .no, !intake.categoryConfirmed || yesNo == .no else { return nil }
        let candidates = decision.alternatives.filter { triager.serviceCategories.contains($0.label) }
        guard let best = candidates.first, best.label != current else { return nil }
        // A plain answer ("evenings", "4B") must not switch categories: ask for a
        // "no" first or a confident reading of a new category.
        let threshold = yesNo == .no ? Self.correctionAfterNo : max(triager.clarifyThreshold, Self.correctionWithoutNo)
        return best.probability >= threshold ? best.label : nil
    }

    // MARK: Intake

    private func startIntake(_ decision: TriageDecision, category: String, context: TurnContext, text: String? = nil) throws -> Intake {
        let text = text ?? context.text
        let places = TextCues.places(in: text)
        var intake = Intake(category: category, priority: decision.priority ?? .p3, safetyRule: decision.safety?.rule,
                            description: text,
                            triage: decision, unit: TextCues.unit(in: text),
                            location: places.first?.text, answers: [:], remaining: [], asking: nil)
        if intake.unit == nil, !(places.first?.isCommonArea ?? false) { intake.unit = context.knownUnit }
        intake.remaining = details(for: category).filter { !isAnswered($0, intake) }
        return intake
    }

    private func details(for category: String) -> [String] {
        pack.categories.first { $0.id == category }?.details ?? ["location"]
    }

    private func isAnswered(_ detail: String, _ intake: Intake) -> Bool {
        switch detail {
        case "location":
            // A unit, or a shared area, says where; a room alone ("kitchen") does not.
            return intake.unit != nil || TextCues.places(in: intake.location ?? "").contains { $0.isCommonArea }
        default:
            return intake.answers[detail] != nil
        }
    }

    private func recategorised(_ intake: Intake, to category: String) -> Intake {
        var intake = intake
        intake.category = category
        intake.categoryConfirmed = true
        if intake.safetyRule == nil, let defaultPriority = triager.defaultPriorities[category],
           intake.priority > defaultPriority {
            intake.priority = defaultPriority
        }
        intake.remaining = details(for: category).filter { !isAnswered($0, intake) }
        intake.asking = nil
        return intake
    }

    private func record(answer text: String, for detail: String, in intake: inout Intake, yesNo: TextCues.YesNo?,
                        knownUnit: String?) {
        let trimmed = Phrases.quoted(text)
        switch detail {
        case "location":
            let unit = TextCues.unit(in: text)
            let place = TextCues.places(in: text).first
            if let unit {
                intake.unit = unit
                // "4B" alone says which unit, not where in it.
                if place != nil { intake.location = trimmed }
            } else {
                intake.location = trimmed
                // "my kitchen" with a unit on file: the resident's own unit.
                if intake.unit == nil, !(place?.isCommonArea ?? false) { intake.unit = knownUnit }
            }
            intake.answers["location"] = trimmed
        case "access":
            intake.answers[detail] = yesNo.map { $0 == .yes ? "yes" : "no" }.map { answer in
                trimmed.count > 4 ? "\(answer) (\(trimmed))" : answer
            } ?? trimmed
        default:
            intake.answers[detail] = trimmed
        }
    }

    /// Asks the next missing detail, or offers an open duplicate, or shows the
    /// summary for confirmation.
    private func continueIntake(_ intake: Intake, lead: String?, context: TurnContext, state: inout DialogueState) throws -> Plan {
        var intake = intake
        let say = context.say
        func reply(_ text: String) -> String { [lead, text].compactMap { $0 }.joined(separator: " ") }
        if intake.duplicateDeclined != true, intake.filedTicket == nil, isAnswered("location", intake),
           let duplicate = openDuplicate(of: intake, facts: context.facts) {
            state.pending = .duplicate(intake, ticket: duplicate.ticket.number)
            return Plan(state: state, reply: reply(say.duplicateOffer(duplicate.ticket, place: duplicate.place)))
        }
        if let next = intake.remaining.first(where: { !isAnswered($0, intake) }) {
            intake.asking = next
            state.pending = .intake(intake)
            return Plan(state: state, reply: reply(say.detailQuestion(next)))
        }
        intake.asking = nil
        state.pending = .intake(intake)
        return Plan(state: state, reply: reply(say.summary(intake)))
    }

    /// An open ticket of the same category at the same place, filed within the
    /// duplicate window: the same shared area, or the same unit.
    private func openDuplicate(of intake: Intake, facts: TurnFacts) -> (ticket: Ticket, place: String)? {
        let candidates = facts.recentOpenTickets[intake.category] ?? []
        let places = TextCues.places(in: intake.location ?? "").filter(\.isCommonArea)
        let placeIDs = Set(places.map(\.id))
        for ticket in candidates {
            if !placeIDs.isEmpty, !placeIDs.isDisjoint(with: TextCues.placeIDs(in: ticket.location ?? "")) {
                return (ticket, places.first!.text)
            }
            if placeIDs.isEmpty, let unit = intake.unit, ticket.unit == unit {
                return (ticket, unit)
            }
        }
        return nil
    }

    /// The ticket for `intake` (``TicketDrafting``), with the triage decision
    /// it carries (explained when it was triaged, so staff see what drove
    /// category and priority). The conversation has settled the priority.
    private func draft(_ intake: Intake, emergency: TicketEmergency? = nil) throws -> TicketDraft {
        try TicketDrafting.draft(intake.triage, category: intake.category, defaultPriority: triager.defaultPriorities[intake.category],
                                        settled: (intake.priority, emergency, intake.safetyRule),
                                        description: intake.description, unit: intake.unit, location: intake.location,
                                        accessNotes: accessNotes(intake), modelVersion: modelVersion)
    }

    /// The answers other than where, as staff read them: `access: yes; best_time: evenings`.
    private func accessNotes(_ intake: Intake) -> String? {
        let notes = intake.answers.filter { $0.key != "location" }.sorted { $0.key < $1.key }
            .map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        return notes.isEmpty ? nil : notes
    }

    private func file(_ intake: Intake, state: inout DialogueState, say: Phrases) throws -> Plan {
        state.pending = nil
        if let number = intake.filedTicket {
            // Filed already (a possible emergency, before its questions): complete it.
            return Plan(state: state, reply: say.completed(ticket: number, priority: intake.priority),
                        actions: [.completeRequest(ticket: number, unit: intake.unit, location: intake.location,
                                                   accessNotes: accessNotes(intake))])
        }
        return Plan(state: state, reply: say.filed(priority: intake.priority), tickets: [try draft(intake)])
    }

    private func fileEmergency(_ intake: Intake, decision: TriageDecision, state: inout DialogueState, say: Phrases) throws -> Plan {
        var lines: [String] = []
        if let key = decision.safety?.guidance, let guidance = say.guidance(key) { lines.append(guidance) }
        lines.append(say.emergencyFiled(priority: intake.priority))
        if !isAnswered("location", intake) { lines.append(say.emergencyWhere) }
        // Waiting for where (asked), or for a unit or place the resident adds.
        state.pending = .emergencyLocation(category: intake.category)
        let basis = TicketDrafting.filing(decision, defaultPriority: nil).emergency ?? .rule
        return Plan(state: state, reply: lines.joined(separator: "\n"), tickets: [try draft(intake, emergency: basis)])
    }

    // MARK: Status, cancel, details, handoff

    private func statusReply(_ context: TurnContext, decision: TriageDecision, state: DialogueState) throws -> Plan {
        let say = context.say
        let tickets = context.facts.residentTickets
        if let number = TextCues.ticketNumber(in: context.text) {
            guard let match = tickets.first(where: { $0.ticket.number == number }) else {
                return Plan(state: state, reply: say.ticketNotYours(number))
            }
            return Plan(state: state, reply: say.statusLines([match], now: context.facts.now))
        }
        guard !tickets.isEmpty else { return Plan(state: state, reply: say.noTickets) }
        // "what's happening with my leak?": the tickets of the category the words point to, if any.
        let mentioned = Set(decision.alternatives.filter { triager.serviceCategories.contains($0.label) && $0.probability >= Self.statusCategory }
            .map(\.label))
        let matching = tickets.filter { mentioned.contains($0.ticket.category) }
        let shown = (matching.isEmpty ? tickets : matching).prefix(5)
        return Plan(state: state, reply: say.statusLines(Array(shown), now: context.facts.now))
    }

    private func cancelFlow(_ context: TurnContext, state: inout DialogueState) throws -> Plan {
        let say = context.say
        let open = context.facts.ownOpenTickets
        if let number = TextCues.ticketNumber(in: context.text) {
            guard let ticket = open.first(where: { $0.number == number }) else {
                return Plan(state: state, reply: say.ticketNotYours(number))
            }
            state.pending = .confirmCancel(ticket: ticket.number)
            return Plan(state: state, reply: say.confirmCancel(ticket))
        }
        switch open.count {
        case 0: return Plan(state: state, reply: say.noOpenTickets)
        case 1:
            state.pending = .confirmCancel(ticket: open[0].number)
            return Plan(state: state, reply: say.confirmCancel(open[0]))
        default: return Plan(state: state, reply: say.whichTicket(open))
        }
    }

    private func addDetailsFlow(_ context: TurnContext, state: inout DialogueState) throws -> Plan {
        let say = context.say
        let open = context.facts.ownOpenTickets
        let chosen: Ticket?
        if let number = TextCues.ticketNumber(in: context.text) {
            chosen = open.first { $0.number == number }
            if chosen == nil { return Plan(state: state, reply: say.ticketNotYours(number)) }
        } else {
            chosen = open.count == 1 ? open[0] : nil
        }
        guard let ticket = chosen else {
            return Plan(state: state, reply: open.isEmpty ? say.noOpenTickets : say.whichTicket(open))
        }
        state.pending = .addDetails(ticket: ticket.number)
        return Plan(state: state, reply: say.askDetails(ticket.number))
    }

    private func handoffReply(_ say: Phrases, now date: Date) -> String {
        let chinese = say.language == .zh
        return say.handoff(openNow: calendar.isOpen(at: date), hours: calendar.summary(chinese: chinese),
                           nextOpening: calendar.nextOpening(after: date).map { calendar.describe($0, chinese: chinese) })
    }
}

extension ConversationEngine {
    /// The probability a label needs to be offered in a clarifying question:
    /// the triage's own bar for a possible request (``Triager/plausibleRequest``).
    static let plausible = Triager.plausibleRequest
    /// The confidence at which a conversation intent (a handoff, a cancel, a
    /// status question, a greeting…) interrupts a pending question (an FAQ
    /// needs only the clarification threshold). Set by hand against the
    /// conversation tests: short answers ("anytime", "工作日晚上") read as an
    /// FAQ or a courtesy at up to about 0.7.
    static let clearInterruption = 0.8
    /// The probability of another service category that switches a request's
    /// category after the resident says "no" ("no, it's the heating"). Set by
    /// hand: the "no" says the resident is correcting, so a second reading
    /// the model ranks well below the top one is enough.
    static let correctionAfterNo = 0.25
    /// The probability a new category needs to switch a request without a
    /// "no" (at least the clarification threshold too): a plain answer
    /// ("evenings", "4B") must not change the category. Set by hand.
    static let correctionWithoutNo = 0.5
    /// The probability a category's words need for "what's happening with my
    /// leak?" to show only the resident's tickets of that category. Set by hand.
    static let statusCategory = 0.2
}

extension DialogueState.Pending {
    /// True while a request is being taken down (not yet filed).
    var isIntake: Bool {
        switch self {
        case .intake, .duplicate: true
        default: false
        }
    }
}
