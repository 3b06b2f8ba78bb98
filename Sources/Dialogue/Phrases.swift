import DataPack
import Foundation
import Store

/// Everything the assistant says, in English and Chinese. Facts (names,
/// numbers, hours, answers, guidance, response targets) come from the data pack.
struct Phrases {
    let language: Language
    let pack: DataPack

    private var zh: Bool { language == .zh }
    private func pick(_ en: String, _ zh: String) -> String { self.zh ? zh : en }
    private var communityName: String { pack.community.name[language] ?? pack.community.name[.en] ?? "" }

    // MARK: Names

    func categoryName(_ id: String) -> String {
        let name = pack.categories.first { $0.id == id }?.name
        return name?[language] ?? name?[.en] ?? id
    }

    /// The problem of a category in a sentence: the pack's `problem:` ("an
    /// appliance problem", "家电问题"), else built from its name.
    func problemPhrase(_ id: String) -> String {
        if let problem = pack.categories.first(where: { $0.id == id })?.problem[language] { return problem }
        let name = categoryName(id)
        if language == .zh { return name + "问题" }
        let lowered = name.lowercased()
        let article = lowered.first.map { "aeiou".contains($0) } == true ? "an" : "a"
        return "\(article) \(lowered) problem"
    }

    /// The FAQ's first question in the resident's language, as its title.
    func faqTitle(_ id: String) -> String {
        let faq = pack.faqs.first { $0.id == id }
        return faq?.questions.first { $0.language == language }?.text ?? faq?.questions.first?.text ?? id
    }

    func faqAnswer(_ id: String) -> String? {
        let answer = pack.faqs.first { $0.id == id }?.answer
        return answer?[language] ?? answer?[.en]
    }

    /// A label of the intent head as the resident should read it in a list.
    func optionTitle(_ label: String) -> String {
        label.hasPrefix("faq.") ? faqTitle(String(label.dropFirst(4))) : categoryName(label)
    }

    /// A `status_updates` text of the pack in the resident's language (else
    /// English), its placeholders filled.
    func statusUpdate(_ key: String, ticket: Int, question: String? = nil, into: Int? = nil) -> String {
        let texts = pack.community.statusUpdates[key]
        guard let text = texts?[language] ?? texts?[.en] else { return "#\(ticket): " + pick("noted.", "已记录。") }
        return text.replacingOccurrences(of: "{ticket}", with: String(ticket))
            .replacingOccurrences(of: "{into}", with: into.map(String.init) ?? "")
            .replacingOccurrences(of: "{question}", with: question ?? "")
            .replacingOccurrences(of: "  ", with: " ")
    }

    func status(_ ticket: Ticket) -> String {
        switch ticket.status {
        case .new: pick("received", "已受理")
        case .triaged: pick("reviewed by staff", "已审核")
        case .inProgress: pick("in progress", "处理中")
        case .pendingResident: pick("waiting for your reply", "等待您的回复")
        case .resolved: pick("resolved", "已解决")
        case .closed: pick("closed", "已关闭")
        case .duplicate: ticket.duplicateOf.map { pick("merged into #\($0)", "已合并到 #\($0)") } ?? pick("merged", "已合并")
        case .rejected: pick("cancelled", "已取消")
        }
    }

    func responseTarget(_ priority: Priority) -> String {
        let target = pack.community.responseTargets[priority]
        return target?.text[language] ?? target?.text[.en] ?? ""
    }

    func detailQuestion(_ id: String) -> String {
        let ask = pack.details.first { $0.id == id }?.ask
        return ask?[language] ?? ask?[.en] ?? pick("Can you tell me more?", "能再详细说一下吗？")
    }

    /// The question about `id` again, after an answer that did not fit it.
    func askAgain(_ id: String) -> String {
        pick("Sorry, I didn't catch that. ", "抱歉，我没看明白。") + detailQuestion(id)
    }

    func detailName(_ id: String) -> String {
        switch id {
        case "location": pick("where", "位置")
        case "access": pick("entry if you're out", "不在家时可否进入")
        case "best_time": pick("best time", "方便时间")
        case "contact": pick("contact", "联系方式")
        case "vehicle": pick("vehicle", "车辆")
        case "when": pick("when", "时间")
        default: id
        }
    }

    func guidance(_ key: String) -> String? {
        let text = pack.community.emergencyGuidance[key]
        return text?[language] ?? text?[.en]
    }

    // MARK: Replies

    func greeting(name: String?) -> String {
        let who = name.map { pick(", \($0)", "，\($0)") } ?? ""
        return pick("Hello\(who)! I'm the \(communityName) assistant. Tell me about a problem in your home or the building "
                    + "(\"my kitchen sink leaks\"), ask a question (\"when is the pool open?\"), or ask about a ticket (\"status of #12\").",
                    "您好\(who)！我是\(communityName)的助手。您可以告诉我家里或楼里的问题（例如“厨房水槽漏水”），"
                    + "问常见问题（例如“游泳池几点开放？”），或者查询工单进度（例如“12号工单进度”）。")
    }

    var capabilities: String {
        pick("I can take maintenance and building requests, answer questions about \(communityName) (hours, parking, pets, rent, …) "
             + "and tell you the status of your tickets.",
             "我可以受理维修和楼宇方面的报修，回答关于\(communityName)的常见问题（开放时间、停车、宠物、房租等），也可以查询您的工单进度。")
    }

    var outOfScope: String {
        pick("Sorry, that's not something I can help with. ", "抱歉，这个我帮不上忙。") + capabilities
    }

    var thanks: String { pick("You're welcome! Anything else?", "不客气！还有什么可以帮您？") }
    var goodbye: String { pick("Goodbye! Write any time if something comes up.", "再见！有需要随时找我。") }
    var okay: String { pick("OK. ", "好的。") + pick("What can I do for you?", "有什么可以帮您？") }

    /// "unit 4B" / "4B室".
    func unitName(_ unit: String) -> String { pick("unit \(unit)", "\(unit)室") }

    func understood(_ intake: Intake) -> String {
        let place = [intake.location, intake.unit.map(unitName)].compactMap { $0 }.joined(separator: ", ")
        let at = place.isEmpty ? "" : pick(" (\(place))", "（\(place)）")
        return pick("Got it: \(problemPhrase(intake.category))\(at).", "明白了：\(problemPhrase(intake.category))\(at)。")
    }

    func changedCategory(_ category: String) -> String {
        pick("OK, \(problemPhrase(category)) then.", "好的，改为\(problemPhrase(category))。")
    }

    func summary(_ intake: Intake) -> String {
        var parts = ["\(categoryName(intake.category)), \(intake.priority.rawValue)", "\"\(Self.quoted(intake.description))\""]
        if zh { parts[1] = "“\(Self.quoted(intake.description))”" }
        let place = [intake.location, intake.unit.map(unitName)].compactMap { $0 }.joined(separator: ", ")
        if !place.isEmpty { parts.append("\(detailName("location")): \(Self.quoted(place))") }
        for (id, answer) in intake.answers.sorted(by: { $0.key < $1.key }) where id != "location" {
            parts.append("\(detailName(id)): \(Self.quoted(id == "access" ? accessAnswer(answer) : answer))")
        }
        return pick("Here's the request: \(parts.joined(separator: "; ")). Shall I file it? (yes / no)",
                    "报修内容：\(parts.joined(separator: "；"))。确认提交吗？（是 / 否）")
    }

    /// The stored access answer ("yes", "no", "yes (after 5 only)": kept in
    /// English for staff) as the resident's language says it.
    func accessAnswer(_ stored: String) -> String {
        for (word, en, zh) in [("yes", "yes", "可以"), ("no", "no", "不可以")] where stored == word || stored.hasPrefix(word + " (") {
            return pick(en, zh) + stored.dropFirst(word.count)
        }
        return stored
    }

    var whatToChange: String {
        pick("What should I change? Tell me the kind of problem (\"it's the heating\"), add a detail, or say \"cancel\".",
             "需要修改什么？请告诉我问题的类型（例如“是暖气的问题”），补充细节，或者说“取消”。")
    }

    /// "Ticket #12 is filed — P2: someone will respond within 24 hours." The
    /// number is the store's placeholder, filled in when the ticket is filed.
    func filed(priority: Priority) -> String {
        let number = "#" + ConversationTurn.ticketNumberPlaceholder
        return pick("Done — ticket \(number) is filed. \(priority.rawValue) — \(responseTarget(priority)).",
                    "已提交，工单号 \(number)。\(priority.rawValue) —— \(responseTarget(priority))。")
    }

    func emergencyFiled(priority: Priority) -> String {
        let number = "#" + ConversationTurn.ticketNumberPlaceholder
        return pick("I've filed this as an emergency: ticket \(number) (\(priority.rawValue) — \(responseTarget(priority))).",
                    "我已按紧急情况提交：工单号 \(number)（\(priority.rawValue) —— \(responseTarget(priority))）。")
    }

    /// The one safety question of a possible emergency (`filed`: it says the
    /// report is already logged, with the ticket number).
    func safetyQuestion(filed: Bool) -> String {
        let number = "#" + ConversationTurn.ticketNumberPlaceholder
        let logged = filed ? pick("I've logged it as ticket \(number) so it won't get lost. ", "已登记为工单 \(number)，不会遗漏。") : ""
        return logged + pick("Is anyone in danger, or is water, gas, smoke or electricity involved right now? (yes / no)",
                             "现在是否有人身危险，或者涉及漏水、燃气、烟雾或用电安全？（是 / 否）")
    }

    /// The emergency number to call, for an emergency no safety rule named.
    var emergencyCall: String {
        guard let number = pack.community.emergencyNumbers.first(where: { $0.id == "emergency" }) else {
            return pick("If anyone is in danger, call emergency services now.", "如有人身危险，请立即拨打急救电话。")
        }
        return pick("If anyone is in danger, call \(number.number) now.", "如有人身危险，请立即拨打\(number.number)。")
    }

    func emergencyConfirmed(ticket: Int) -> String {
        pick("Ticket #\(ticket) is now an emergency (P1 — \(responseTarget(.p1))).",
             "工单 #\(ticket) 已升级为紧急（P1 —— \(responseTarget(.p1))）。")
    }

    func noDanger(priority: Priority) -> String {
        pick("Thanks — no emergency then; it stays on the list as \(priority.rawValue).", "好的，不是紧急情况，按\(priority.rawValue)处理。")
    }

    /// A request filed before its questions, now complete.
    func completed(ticket: Int, priority: Priority) -> String {
        pick("Thanks — ticket #\(ticket) has everything now. \(priority.rawValue) — \(responseTarget(priority)).",
             "谢谢，工单 #\(ticket) 的信息已补充完整。\(priority.rawValue) —— \(responseTarget(priority))。")
    }

    var emergencyWhere: String {
        pick("If you can, tell me exactly where it is (unit, floor or area) and I'll add it to the ticket.",
             "方便的话，请告诉我具体位置（门牌号、楼层或区域），我会补充到工单里。")
    }

    func addedLocation(ticket: Int) -> String {
        pick("Thanks — I've added that to ticket #\(ticket). Stay safe.", "谢谢，已补充到工单 #\(ticket)。请注意安全。")
    }

    var notFiled: String { pick("OK, I won't file it. Anything else I can help with?", "好的，不提交了。还有什么可以帮您？") }

    func clarify(_ options: [String]) -> String {
        let list = options.enumerated().map { "\($0.offset + 1)) \(optionTitle($0.element))" }
        let other = "\(options.count + 1)) " + pick("something else", "其他")
        return pick("I want to get this right. Is it about: \((list + [other]).joined(separator: "  "))? Reply with a number.",
                    "为了准确处理，请问是关于：\((list + [other]).joined(separator: "  "))？请回复数字。")
    }

    /// The answers a reply waiting on `pending` accepts, as buttons: the
    /// numbered options of a clarification, or yes/no for a confirmation.
    func suggestions(_ pending: DialogueState.Pending?) -> [SuggestedReply] {
        let yesNo = [SuggestedReply(title: pick("Yes", "是"), payload: pick("yes", "是")),
                     SuggestedReply(title: pick("No", "否"), payload: pick("no", "否"))]
        switch pending {
        case let .clarify(options, _, _):
            return options.enumerated().map { SuggestedReply(title: optionTitle($0.element), payload: "\($0.offset + 1)") }
                + [SuggestedReply(title: pick("Something else", "其他"), payload: "\(options.count + 1)")]
        case .duplicate, .confirmCancel, .safetyCheck: return yesNo
        case .rating: return (1...5).map { SuggestedReply(title: String(repeating: "★", count: $0), payload: String($0)) }
        case .intake(let intake) where intake.asking == nil: return yesNo
        default: return []
        }
    }

    /// The clarifying question again, after an answer that was not a choice
    /// (`noted`: the unit or place the resident gave, kept for the request).
    func clarifyAgain(_ options: [String], noted: String?) -> String {
        let lead = noted.map { pick("Noted: \($0).", "已记下：\($0)。") }
        let list = options.enumerated().map { "\($0.offset + 1)) \(optionTitle($0.element))" }
        let other = "\(options.count + 1)) " + pick("something else", "其他")
        let question = pick("Which of these is the problem: \((list + [other]).joined(separator: "  "))? Reply with a number.",
                            "请问问题属于哪一类：\((list + [other]).joined(separator: "  "))？请回复数字。")
        return [lead, question].compactMap { $0 }.joined(separator: " ")
    }

    var rephrase: String {
        pick("Could you say it in other words, or describe the problem a bit more?", "能换个说法，或者再具体描述一下问题吗？")
    }

    func duplicateOffer(_ ticket: Ticket, place: String) -> String {
        pick("Ticket #\(ticket.number) already covers \(problemPhrase(ticket.category)) at \(Self.quoted(place)) "
             + "(\(status(ticket))). Add your report to it? (yes / no)",
             "工单 #\(ticket.number) 已经在处理\(Self.quoted(place))的\(categoryName(ticket.category))问题（\(status(ticket))）。"
             + "要把您的报告加到这个工单里吗？（是 / 否）")
    }

    func linked(_ ticket: Int) -> String {
        pick("Thanks — I've added your report to ticket #\(ticket), so staff know it affects you too.",
             "谢谢，已把您的报告加到工单 #\(ticket)，工作人员会知道这也影响到您。")
    }

    // MARK: Status, cancel, details

    var noTickets: String {
        pick("You have no tickets yet. Tell me about a problem and I'll file one.", "您还没有工单。告诉我遇到的问题，我来帮您提交。")
    }

    func ticketNotYours(_ number: Int) -> String {
        pick("I can't find ticket #\(number) among your tickets.", "在您的工单里找不到 #\(number)。")
    }

    func statusLines(_ tickets: [ResidentTicket], now: Date) -> String {
        let lines = tickets.map { item -> String in
            let ticket = item.ticket
            let age = Self.age(ticket.createdAt, now: now, zh: zh)
            var line = "#\(ticket.number) \(categoryName(ticket.category)) — \(status(ticket))"
                + pick(" (\(ticket.priority.rawValue), filed \(age))", "（\(ticket.priority.rawValue)，\(age)提交）")
            if let note = item.lastPublicNote?.text {
                line += pick(" Latest from staff: \"\(Self.quoted(note))\"", " 工作人员最新回复：“\(Self.quoted(note))”")
            }
            return line
        }
        return pick("Your tickets:\n", "您的工单：\n") + lines.joined(separator: "\n")
    }

    func confirmCancel(_ ticket: Ticket) -> String {
        pick("Cancel ticket #\(ticket.number) (\(categoryName(ticket.category)))? (yes / no)",
             "要取消工单 #\(ticket.number)（\(categoryName(ticket.category))）吗？（是 / 否）")
    }

    func cancelled(_ number: Int) -> String { pick("Ticket #\(number) is cancelled.", "工单 #\(number) 已取消。") }
    var keptTicket: String { pick("OK, I'll leave it open.", "好的，工单保留。") }
    var noOpenTickets: String {
        pick("You have no open tickets. Tell me about a problem and I'll file one.", "您没有未完成的工单。告诉我遇到的问题，我来帮您提交。")
    }

    func whichTicket(_ tickets: [Ticket]) -> String {
        let list = tickets.map { "#\($0.number) \(categoryName($0.category))" }.joined(separator: ", ")
        return pick("Which ticket? \(list)", "请问是哪个工单？\(list)")
    }

    func askDetails(_ number: Int) -> String {
        pick("What would you like to add to ticket #\(number)?", "您想给工单 #\(number) 补充什么？")
    }

    // MARK: Photos

    var photoHeldForRequest: String { pick("I've kept your photo with the request.", "照片已附在这次报修里。") }
    var photoAskWhatsWrong: String {
        pick("Thanks for the photo. What's the problem? Tell me in a few words and I'll file it with the photo.",
             "收到照片。请简单说一下是什么问题，我会连同照片一起提交。")
    }
    func photoAdded(to number: Int, askIfOther: Bool) -> String {
        pick("I've added your photo to ticket #\(number).", "照片已添加到工单 #\(number)。")
            + (askIfOther ? pick(" If it's about something else, tell me what's wrong.", "如果是别的问题，请告诉我是什么情况。") : "")
    }
    /// A file refused: not a photo Concierge keeps, or larger than `maxBytes`.
    func photoRefused(maxBytes: Int) -> String {
        pick("I couldn't keep that file: ", "这个文件无法保存：") + photoLimits(maxBytes: maxBytes)
    }
    private func photoLimits(maxBytes: Int) -> String {
        let megabytes = max(1, maxBytes / 1_048_576)
        return pick("I can take photos (JPEG, PNG, WebP or HEIC) up to \(megabytes) MB.",
                    "只能接收 \(megabytes) MB 以内的照片（JPEG、PNG、WebP 或 HEIC）。")
    }

    /// A platform's file that could not be kept once fetched, after the
    /// reply: refused by its bytes (`refused`), or never downloaded.
    func photoNotKept(ticket: Int?, refused: Bool, maxBytes: Int) -> String {
        let which = ticket.map { pick(" for ticket #\($0)", "（工单 #\($0)）") } ?? ""
        return refused
            ? pick("The file you sent\(which) couldn't be kept: ", "您发送的文件\(which)无法保存：") + photoLimits(maxBytes: maxBytes)
            : pick("I couldn't download the photo you sent\(which). Your message was received; please send the photo again if it helps.",
                   "您发送的照片\(which)下载失败。您的消息已收到；如有需要请重新发送照片。")
    }

    func addedDetails(_ number: Int) -> String { pick("Added to ticket #\(number). Thanks!", "已补充到工单 #\(number)，谢谢！") }

    // MARK: Handoff

    func handoff(openNow: Bool, hours: String, nextOpening: String?) -> String {
        let phone = pack.community.staffPhone
        let emergency = pack.community.afterHoursEmergencyLine
        if openNow {
            return pick("I've asked our staff to take over; someone will reply here (office hours: \(hours)). "
                        + "You can also call the office at \(phone). For an emergency call \(emergency).",
                        "已请工作人员接手，会在这里回复您（办公时间：\(hours)）。也可以打办公室电话\(phone)。紧急情况请打\(emergency)。")
        }
        let next = nextOpening.map { pick(" It opens \($0).", "下次开放：\($0)。") } ?? ""
        return pick("I've asked our staff to take over; the office is closed now.\(next) Someone will reply here then "
                    + "(office hours: \(hours)). For an emergency call \(emergency).",
                    "已请工作人员接手，但办公室现在下班了。\(next)届时会在这里回复您（办公时间：\(hours)）。紧急情况请打\(emergency)。")
    }

    // MARK: Helpers

    /// Resident text echoed in a reply: one line, at most 120 characters, and
    /// never the store's ticket-number placeholder.
    static func quoted(_ text: String) -> String {
        var line = text.replacingOccurrences(of: "\u{2063}", with: "")
            .components(separatedBy: .newlines).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces)
        if line.count > 120 { line = String(line.prefix(117)) + "…" }
        return line
    }

    static func age(_ date: Date, now: Date, zh: Bool) -> String {
        let minutes = max(0, Int(now.timeIntervalSince(date) / 60))
        switch minutes {
        case ..<1: return zh ? "刚刚" : "just now"
        case ..<60: return zh ? "\(minutes)分钟前" : "\(minutes) min ago"
        case ..<(48 * 60): return zh ? "\(minutes / 60)小时前" : "\(minutes / 60) h ago"
        default: return zh ? "\(minutes / 1440)天前" : "\(minutes / 1440) days ago"
        }
    }
}
