import Foundation
import Yams

/// Reads a data pack folder (see intents/README.md for the schema).
public enum DataPackLoader {
    /// Loads the pack at `directory`. Returns the pack and every diagnostic;
    /// throws `DataPackError` when there is any error, so a broken pack never
    /// trains a model.
    public static func load(directory: URL) throws -> (pack: DataPack, warnings: [Diagnostic]) {
        let (pack, diagnostics) = read(directory: directory)
        if let pack, !diagnostics.contains(where: { $0.severity == .error }) {
            return (pack, diagnostics)
        }
        throw DataPackError(diagnostics: diagnostics)
    }

    /// Only `community.yaml` (name, timezone, office hours, …): for what
    /// needs the community's facts without the whole pack (`concierge report`
    /// reads its time zone). Nil when the file is missing or invalid.
    public static func community(directory: URL) -> Community? {
        let files = PackFiles(directory: directory)
        return files.withFile(files.url("community.yaml")) { reader, root in readCommunity(reader, root) }
    }

    /// Reads the pack, collecting diagnostics instead of throwing. The pack is
    /// nil only when a required file is missing or unreadable.
    public static func read(directory: URL) -> (pack: DataPack?, diagnostics: [Diagnostic]) {
        let files = PackFiles(directory: directory)
        for required in ["community.yaml", "details.yaml", "out_of_scope.yaml"] where !files.exists(required) {
            files.diagnostics.append(Diagnostic(.error, SourceLocation(file: required, line: 1), "required file is missing"))
        }
        let community = files.withFile(files.url("community.yaml")) { reader, root in readCommunity(reader, root) }
        let details = readDetails(files)
        let categories = readCategories(files, detailIDs: Set(details.map(\.id)))
        let conversation = readConversation(files)
        let faqs = readFAQs(files)
        let outOfScope: [Example] = files.withFile(files.url("out_of_scope.yaml")) { reader, root in
            guard let fields = reader.mapping(root, what: "out_of_scope.yaml", allowed: ["examples"], required: ["examples"]) else { return [] }
            return reader.examples(fields["examples"], what: "examples", allowPriority: false)
        } ?? []
        let corrections = readCorrections(files)
        let safetyRules = community.map { community in
            ruleFile(files, "safety.yaml", guidanceKeys: Set(community.emergencyGuidance.keys), categoryIDs: nil)
        } ?? []
        let urgentRules = ruleFile(files, "urgent.yaml", guidanceKeys: nil, categoryIDs: Set(categories.map(\.id)))
        let canWaitRules = ruleFile(files, "can_wait.yaml", guidanceKeys: nil, categoryIDs: nil)

        guard let community else { return (nil, files.diagnostics) }
        var pack = DataPack(community: community, details: details, categories: categories, conversation: conversation,
                            faqs: faqs, outOfScope: outOfScope, corrections: corrections)
        pack.safetyRules = safetyRules
        pack.urgentRules = urgentRules
        pack.canWaitRules = canWaitRules
        return (pack, files.diagnostics)
    }

    /// `details.yaml`: the details staff may need, in file order.
    static func readDetails(_ files: PackFiles) -> [DetailSpec] {
        files.withFile(files.url("details.yaml")) { reader, root in
            guard let entries = reader.mapping(root, what: "details.yaml") else { return [] }
            return entries.sorted { ($0.value.mark?.line ?? 0) < ($1.value.mark?.line ?? 0) }.compactMap { id, node in
                guard let fields = reader.mapping(node, what: "detail \(id)", allowed: ["ask"], required: ["ask"]),
                      let ask = reader.translations(fields["ask"], what: "detail \(id).ask") else { return nil }
                return DetailSpec(id: id, ask: ask)
            }
        } ?? []
    }

    /// `categories/*.yaml`: one kind of service request each (at least one).
    static func readCategories(_ files: PackFiles, detailIDs: Set<String>) -> [Category] {
        let categories = files.yamlFiles("categories").compactMap { url -> Category? in
            files.withFile(url) { reader, root in
                guard let fields = reader.mapping(root, what: "a category",
                                                  allowed: ["id", "name", "problem", "default_priority", "details", "examples",
                                                            "description"],
                                                  required: ["id", "name", "default_priority", "examples"]),
                      let id = files.id(reader, fields, of: url) else { return nil }
                let name = reader.translations(fields["name"], what: "name") ?? [:]
                let problem = fields["problem"].flatMap { reader.translations($0, what: "problem") } ?? [:]
                let defaultPriority = reader.priority(fields["default_priority"], what: "default_priority") ?? .p3
                var detailList: [String] = []
                for node in reader.sequence(fields["details"], what: "details") ?? [] {
                    guard let detail = reader.string(node, what: "a detail") else { continue }
                    if !detailIDs.isEmpty && !detailIDs.contains(detail) {
                        reader.error(node, "unknown detail \"\(detail)\" (details.yaml defines: \(detailIDs.sorted().joined(separator: ", ")))")
                    }
                    detailList.append(detail)
                }
                let examples = reader.examples(fields["examples"], what: "examples", allowPriority: true)
                return Category(id: id, name: name, problem: problem, defaultPriority: defaultPriority, details: detailList,
                                examples: examples, location: reader.location(root))
            }
        }
        if categories.isEmpty {
            files.diagnostics.append(Diagnostic(.error, SourceLocation(file: "categories/", line: 1),
                                                "no categories: add at least one categories/<id>.yaml"))
        }
        return categories
    }

    /// `conversation/*.yaml`: exactly the ids of ``ConversationIntentID``, each present.
    static func readConversation(_ files: PackFiles) -> [ConversationIntent] {
        let conversation = files.yamlFiles("conversation").compactMap { url -> ConversationIntent? in
            files.withFile(url) { reader, root in
                guard let fields = reader.mapping(root, what: "a conversational intent", allowed: ["id", "examples"], required: ["id", "examples"]),
                      let id = files.id(reader, fields, of: url) else { return nil }
                if !ConversationIntent.requiredIDs.contains(id) {
                    reader.error(fields["id"], "unknown conversational intent \"\(id)\" (the assistant understands: \(ConversationIntent.requiredIDs.joined(separator: ", ")))")
                }
                return ConversationIntent(id: id, examples: reader.examples(fields["examples"], what: "examples", allowPriority: false),
                                          location: reader.location(root))
            }
        }
        for id in ConversationIntent.requiredIDs where !conversation.contains(where: { $0.id == id }) {
            files.diagnostics.append(Diagnostic(.error, SourceLocation(file: "conversation/\(id).yaml", line: 1),
                                                "missing conversational intent \"\(id)\""))
        }
        return conversation
    }

    /// `faqs/*.yaml`: one question with its answer each.
    static func readFAQs(_ files: PackFiles) -> [FAQ] {
        files.yamlFiles("faqs").compactMap { url -> FAQ? in
            files.withFile(url) { reader, root in
                guard let fields = reader.mapping(root, what: "an FAQ", allowed: ["id", "questions", "answer"], required: ["id", "questions", "answer"]),
                      let id = files.id(reader, fields, of: url) else { return nil }
                return FAQ(id: id, questions: reader.examples(fields["questions"], what: "questions", allowPriority: false),
                           answer: reader.translations(fields["answer"], what: "answer") ?? [:], location: reader.location(root))
            }
        }
    }

    /// `corrections/*.yaml`: examples exported from staff corrections.
    static func readCorrections(_ files: PackFiles) -> [CorrectionExample] {
        files.yamlFiles("corrections").flatMap { url -> [CorrectionExample] in
            files.withFile(url) { reader, root in
                guard let fields = reader.mapping(root, what: "a corrections file", allowed: ["examples"], required: ["examples"]) else { return [] }
                return (reader.sequence(fields["examples"], what: "examples") ?? []).compactMap { item in
                    guard let entry = reader.mapping(item, what: "a correction", allowed: ["text", "intent", "priority"], required: ["text", "intent"]),
                          let text = reader.string(entry["text"], what: "text"),
                          let intent = reader.string(entry["intent"], what: "intent") else { return nil }
                    return CorrectionExample(text: text, language: Language.detect(text), intent: intent,
                                             priority: entry["priority"].flatMap { reader.priority($0, what: "priority") },
                                             location: reader.location(item))
                }
            } ?? []
        }
    }

    /// A rules file (`safety.yaml`, `urgent.yaml`, `can_wait.yaml`); none when it is absent.
    static func ruleFile(_ files: PackFiles, _ file: String, guidanceKeys: Set<String>?, categoryIDs: Set<String>?) -> [SafetyRule] {
        guard files.exists(file) else { return [] }
        return files.withFile(files.url(file)) { reader, root in
            readSafetyRules(reader, root, file: file, guidanceKeys: guidanceKeys, categoryIDs: categoryIDs)
        } ?? []
    }

    /// `safety.yaml`: `rules:`, a list of `{id, guidance, patterns, except?, requires_any?}`;
    /// `urgent.yaml` and `can_wait.yaml` (`guidanceKeys` nil): the same without
    /// `guidance`; with `categoryIDs`, an optional `category` (one of them).
    static func readSafetyRules(_ reader: YAMLReader, _ root: Node, file: String = "safety.yaml",
                                guidanceKeys: Set<String>?, categoryIDs: Set<String>? = nil) -> [SafetyRule] {
        let kind = file.replacingOccurrences(of: ".yaml", with: "")   // safety, urgent, can_wait
        guard let fields = reader.mapping(root, what: file, allowed: ["rules"], required: ["rules"]),
              let items = reader.sequence(fields["rules"], what: "rules") else { return [] }
        if items.isEmpty { reader.error(fields["rules"], "rules is empty") }
        var seen: [String: SourceLocation] = [:]
        return items.compactMap { item -> SafetyRule? in
            let keys: Set<String> = guidanceKeys != nil ? ["id", "guidance", "patterns", "except", "requires_any"]
                : categoryIDs != nil ? ["id", "category", "patterns", "except", "requires_any"]
                : ["id", "patterns", "except", "requires_any"]
            guard let entry = reader.mapping(item, what: kind == "urgent" ? "an urgent rule" : "a \(kind) rule", allowed: keys,
                                             required: guidanceKeys == nil ? ["id", "patterns"] : ["id", "guidance", "patterns"]),
                  let id = reader.string(entry["id"], what: "id") else { return nil }
            if id.isEmpty || !id.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }) {
                reader.error(entry["id"], "id \"\(id)\" must be lower_snake_case (a-z, 0-9, _)")
            }
            if let first = seen[id] {
                reader.error(entry["id"], "a second \(kind) rule \"\(id)\" (first at \(first))")
            } else {
                seen[id] = reader.location(item)
            }
            let guidance = reader.string(entry["guidance"], what: "guidance") ?? ""
            if let guidanceKeys, !guidance.isEmpty, !guidanceKeys.contains(guidance) {
                reader.error(entry["guidance"], "unknown guidance \"\(guidance)\" (community.yaml emergency_guidance has: \(guidanceKeys.sorted().joined(separator: ", ")))")
            }
            let category = reader.string(entry["category"], what: "category")
            if let categoryIDs, let category, !categoryIDs.contains(category) {
                reader.error(entry["category"], "unknown category \"\(category)\" (categories/ has: \(categoryIDs.sorted().joined(separator: ", ")))")
            }
            let patterns = safetyPatterns(reader, entry["patterns"], what: "\(id).patterns", everyLanguage: true)
            let except = entry["except"].map { safetyPatterns(reader, $0, what: "\(id).except", everyLanguage: false) } ?? [:]
            let requiresAny = entry["requires_any"].map { safetyPatterns(reader, $0, what: "\(id).requires_any", everyLanguage: true) } ?? [:]
            return SafetyRule(id: id, guidance: guidance, patterns: patterns, except: except, requiresAny: requiresAny,
                              category: category, location: reader.location(item))
        }
    }

    /// `{en: [...], zh: [...]}` of safety patterns; with `everyLanguage`, each
    /// language must have a non-empty list.
    static func safetyPatterns(_ reader: YAMLReader, _ node: Node?, what: String, everyLanguage: Bool) -> [Language: [SafetyPattern]] {
        guard let fields = reader.mapping(node, what: what, allowed: Set(Language.allCases.map(\.rawValue))) else { return [:] }
        var result: [Language: [SafetyPattern]] = [:]
        for language in Language.allCases {
            guard let listNode = fields[language.rawValue] else {
                if everyLanguage { reader.error(node, "\(what): no \"\(language.rawValue)\" list (every language needs its own)") }
                continue
            }
            guard let items = reader.sequence(listNode, what: "\(what).\(language.rawValue)") else { continue }
            if items.isEmpty && everyLanguage { reader.error(listNode, "\(what).\(language.rawValue) is empty") }
            var sources = Set<String>()
            for item in items {
                guard let text = reader.string(item, what: "a pattern") else { continue }
                do {
                    let pattern = try SafetyPattern(text, location: reader.location(item))
                    if !sources.insert(pattern.elements.description).inserted {
                        reader.warning(item, "\(what).\(language.rawValue): pattern \"\(text)\" is listed twice")
                    }
                    result[language, default: []].append(pattern)
                } catch {
                    reader.error(item, "\(what).\(language.rawValue): pattern \"\(text)\": \(error.message)")
                }
            }
        }
        return result
    }

    static func readCommunity(_ reader: YAMLReader, _ root: Node) -> Community? {
        let allowed: Set<String> = ["name", "address", "timezone", "languages", "office_hours", "staff_contact",
                                    "after_hours_emergency_line", "emergency_numbers", "emergency_guidance", "response_targets",
                                    "status_updates"]
        guard let fields = reader.mapping(root, what: "community.yaml", allowed: allowed,
                                          required: ["name", "timezone", "office_hours", "staff_contact", "emergency_numbers", "response_targets"])
        else { return nil }
        let name = reader.translations(fields["name"], what: "name") ?? [:]
        let timezone = reader.string(fields["timezone"], what: "timezone") ?? "UTC"
        if TimeZone(identifier: timezone) == nil { reader.error(fields["timezone"], "unknown timezone \"\(timezone)\" (use an IANA name such as America/Vancouver)") }
        let languages = (reader.sequence(fields["languages"], what: "languages") ?? []).compactMap { node -> Language? in
            guard let text = reader.string(node, what: "a language") else { return nil }
            guard let language = Language(rawValue: text) else {
                reader.error(node, "unknown language \"\(text)\" (supported: en, zh)")
                return nil
            }
            return language
        }
        let dayNames: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        func isClock(_ text: String) -> Bool {
            let parts = text.split(separator: ":")
            guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]) else { return false }
            return (0...24).contains(hour) && (0...59).contains(minute) && parts[1].count == 2
        }
        let officeHours = (reader.sequence(fields["office_hours"], what: "office_hours") ?? []).compactMap { node -> OfficeHours? in
            guard let entry = reader.mapping(node, what: "office hours", allowed: ["days", "open", "close"], required: ["days", "open", "close"]),
                  let open = reader.string(entry["open"], what: "open"), let close = reader.string(entry["close"], what: "close") else { return nil }
            let days = (reader.sequence(entry["days"], what: "days") ?? []).compactMap { reader.string($0, what: "a day") }
            for (day, dayNode) in zip(days, reader.sequence(entry["days"], what: "days") ?? []) where !dayNames.contains(day) {
                reader.error(dayNode, "unknown day \"\(day)\" (use mon, tue, wed, thu, fri, sat, sun)")
            }
            for (value, key) in [(open, "open"), (close, "close")] where !isClock(value) {
                reader.error(entry[key], "\(key): \"\(value)\" is not a time like \"09:00\"")
            }
            return OfficeHours(days: days, open: open, close: close)
        }
        var staffPhone = "", staffEmail = ""
        var staffOffice: Translations = [:]
        if let staff = reader.mapping(fields["staff_contact"], what: "staff_contact", allowed: ["phone", "email", "office"], required: ["phone", "email"]) {
            staffPhone = reader.string(staff["phone"], what: "staff_contact.phone") ?? ""
            staffEmail = reader.string(staff["email"], what: "staff_contact.email") ?? ""
            staffOffice = staff["office"].flatMap { reader.translations($0, what: "staff_contact.office") } ?? [:]
        }
        let emergencyNumbers = (reader.sequence(fields["emergency_numbers"], what: "emergency_numbers") ?? []).compactMap { node -> EmergencyNumber? in
            guard let entry = reader.mapping(node, what: "an emergency number", allowed: ["id", "number", "en", "zh"], required: ["id", "number", "en", "zh"]),
                  let id = reader.string(entry["id"], what: "id"), let number = reader.string(entry["number"], what: "number") else { return nil }
            var label: Translations = [:]
            for language in Language.allCases { label[language] = reader.string(entry[language.rawValue], what: language.rawValue) }
            return EmergencyNumber(id: id, number: number, label: label)
        }
        var guidance: [String: Translations] = [:]
        if let entries = reader.mapping(fields["emergency_guidance"], what: "emergency_guidance") {
            for (hazard, node) in entries {
                guidance[hazard] = reader.translations(node, what: "emergency_guidance.\(hazard)")
            }
        }
        let targets = readResponseTargets(reader, fields["response_targets"])
        let statusUpdates = readStatusUpdates(reader, fields["status_updates"])
        var community = Community(name: name, address: reader.string(fields["address"], what: "address") ?? "", timezone: timezone,
                         languages: languages.isEmpty ? Language.allCases : languages, officeHours: officeHours,
                         staffPhone: staffPhone, staffEmail: staffEmail, staffOffice: staffOffice,
                         afterHoursEmergencyLine: reader.string(fields["after_hours_emergency_line"], what: "after_hours_emergency_line") ?? "",
                         emergencyNumbers: emergencyNumbers, emergencyGuidance: guidance, responseTargets: targets)
        community.statusUpdates = statusUpdates
        return community
    }

    /// `response_targets`: hours (or null for scheduled) and the words, per priority.
    static func readResponseTargets(_ reader: YAMLReader, _ node: Node?) -> [Priority: ResponseTarget] {
        var targets: [Priority: ResponseTarget] = [:]
        if let entries = reader.mapping(node, what: "response_targets", allowed: Set(Priority.allCases.map(\.rawValue)),
                                        required: Priority.allCases.map(\.rawValue)) {
            for priority in Priority.allCases {
                guard let node = entries[priority.rawValue],
                      let entry = reader.mapping(node, what: "response_targets.\(priority.rawValue)", allowed: ["hours", "en", "zh"], required: ["hours", "en", "zh"])
                else { continue }
                var hours: Double? = nil
                if case .scalar(let scalar)? = entry["hours"], !["null", "~", ""].contains(scalar.string) {
                    if let value = Double(scalar.string), value > 0 { hours = value } else {
                        reader.error(entry["hours"], "hours: \"\(scalar.string)\" is not a positive number (or null for scheduled)")
                    }
                }
                var text: Translations = [:]
                for language in Language.allCases { text[language] = reader.string(entry[language.rawValue], what: language.rawValue) }
                targets[priority] = ResponseTarget(hours: hours, text: text)
            }
        }
        return targets
    }

    /// `status_updates`: every key of ``Community/statusUpdateKeys``, in each language.
    static func readStatusUpdates(_ reader: YAMLReader, _ node: Node?) -> [String: Translations] {
        var statusUpdates: [String: Translations] = [:]
        if let entries = reader.mapping(node, what: "status_updates", allowed: Community.statusUpdateKeys,
                                        required: Community.statusUpdateKeys.sorted()) {
            for (key, node) in entries { statusUpdates[key] = reader.translations(node, what: "status_updates.\(key)") }
        }
        return statusUpdates
    }
}

/// The files of a pack folder as the loader reads them, and the diagnostics
/// they produced (file names relative to the folder).
final class PackFiles {
    let directory: URL
    var diagnostics: [Diagnostic] = []
    private let fileManager = FileManager.default

    init(directory: URL) { self.directory = directory }

    func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    func exists(_ name: String) -> Bool { fileManager.fileExists(atPath: url(name).path) }

    /// The `.yaml` / `.yml` files of a subfolder, sorted by name.
    func yamlFiles(_ subdirectory: String) -> [URL] {
        let folder = directory.appendingPathComponent(subdirectory, isDirectory: true)
        guard let names = try? fileManager.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { folder.appendingPathComponent($0) }
    }

    func relative(_ url: URL) -> String {
        let base = directory.standardizedFileURL.path
        let path = url.standardizedFileURL.path
        return path.hasPrefix(base + "/") ? String(path.dropFirst(base.count + 1)) : path
    }

    /// Parses one file, running `body` on its root node; its problems join `diagnostics`.
    func withFile<T>(_ url: URL, _ body: (YAMLReader, Node) -> T?) -> T? {
        let reader = YAMLReader(file: relative(url))
        defer { diagnostics += reader.diagnostics }
        guard let data = fileManager.contents(atPath: url.path) else {
            reader.error(nil, "cannot read the file")
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            reader.error(nil, "the file is not valid UTF-8")
            return nil
        }
        guard let root = reader.parse(text) else { return nil }
        return body(reader, root)
    }

    /// The `id` of a file's mapping, which must match the file name.
    func id(_ reader: YAMLReader, _ fields: [String: Node], of url: URL) -> String? {
        guard let id = reader.string(fields["id"], what: "id") else { return nil }
        let name = url.deletingPathExtension().lastPathComponent
        if id != name { reader.error(fields["id"], "id \"\(id)\" does not match the file name \"\(name)\"") }
        return id
    }
}
