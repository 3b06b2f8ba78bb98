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

    /// Reads the pack, collecting diagnostics instead of throwing. The pack is
    /// nil only when a required file is missing or unreadable.
    public static func read(directory: URL) -> (pack: DataPack?, diagnostics: [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        let fileManager = FileManager.default

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
        /// Parses one file, running `body` on its root node.
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

        func fileID(_ url: URL) -> String { url.deletingPathExtension().lastPathComponent }

        let communityURL = directory.appendingPathComponent("community.yaml")
        let detailsURL = directory.appendingPathComponent("details.yaml")
        let outOfScopeURL = directory.appendingPathComponent("out_of_scope.yaml")
        for required in [communityURL, detailsURL, outOfScopeURL] where !fileManager.fileExists(atPath: required.path) {
            diagnostics.append(Diagnostic(.error, SourceLocation(file: relative(required), line: 1), "required file is missing"))
        }

        let community = withFile(communityURL) { reader, root in readCommunity(reader, root) }
        let details: [DetailSpec] = withFile(detailsURL) { reader, root in
            guard let entries = reader.mapping(root, what: "details.yaml") else { return [] }
            return entries.sorted { ($0.value.mark?.line ?? 0) < ($1.value.mark?.line ?? 0) }.compactMap { id, node in
                guard let fields = reader.mapping(node, what: "detail \(id)", allowed: ["ask"], required: ["ask"]),
                      let ask = reader.translations(fields["ask"], what: "detail \(id).ask") else { return nil }
                return DetailSpec(id: id, ask: ask)
            }
        } ?? []
        let detailIDs = Set(details.map(\.id))

        var categories: [Category] = []
        for url in yamlFiles("categories") {
            if let category: Category = withFile(url, { reader, root in
                guard let fields = reader.mapping(root, what: "a category",
                                                  allowed: ["id", "name", "problem", "default_priority", "details", "examples",
                                                            "description"],
                                                  required: ["id", "name", "default_priority", "examples"]),
                      let id = reader.string(fields["id"], what: "id") else { return nil }
                if id != fileID(url) { reader.error(fields["id"], "id \"\(id)\" does not match the file name \"\(fileID(url))\"") }
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
            }) {
                categories.append(category)
            }
        }
        if categories.isEmpty {
            diagnostics.append(Diagnostic(.error, SourceLocation(file: "categories/", line: 1), "no categories: add at least one categories/<id>.yaml"))
        }

        var conversation: [ConversationIntent] = []
        for url in yamlFiles("conversation") {
            if let intent: ConversationIntent = withFile(url, { reader, root in
                guard let fields = reader.mapping(root, what: "a conversational intent", allowed: ["id", "examples"], required: ["id", "examples"]),
                      let id = reader.string(fields["id"], what: "id") else { return nil }
                if id != fileID(url) { reader.error(fields["id"], "id \"\(id)\" does not match the file name \"\(fileID(url))\"") }
                if !ConversationIntent.requiredIDs.contains(id) {
                    reader.error(fields["id"], "unknown conversational intent \"\(id)\" (the assistant understands: \(ConversationIntent.requiredIDs.joined(separator: ", ")))")
                }
                return ConversationIntent(id: id, examples: reader.examples(fields["examples"], what: "examples", allowPriority: false),
                                          location: reader.location(root))
            }) {
                conversation.append(intent)
            }
        }
        for id in ConversationIntent.requiredIDs where !conversation.contains(where: { $0.id == id }) {
            diagnostics.append(Diagnostic(.error, SourceLocation(file: "conversation/\(id).yaml", line: 1), "missing conversational intent \"\(id)\""))
        }

        var faqs: [FAQ] = []
        for url in yamlFiles("faqs") {
            if let faq: FAQ = withFile(url, { reader, root in
                guard let fields = reader.mapping(root, what: "an FAQ", allowed: ["id", "questions", "answer"], required: ["id", "questions", "answer"]),
                      let id = reader.string(fields["id"], what: "id") else { return nil }
                if id != fileID(url) { reader.error(fields["id"], "id \"\(id)\" does not match the file name \"\(fileID(url))\"") }
                return FAQ(id: id, questions: reader.examples(fields["questions"], what: "questions", allowPriority: false),
                           answer: reader.translations(fields["answer"], what: "answer") ?? [:], location: reader.location(root))
            }) {
                faqs.append(faq)
            }
        }

        let outOfScope: [Example] = withFile(outOfScopeURL) { reader, root in
            guard let fields = reader.mapping(root, what: "out_of_scope.yaml", allowed: ["examples"], required: ["examples"]) else { return [] }
            return reader.examples(fields["examples"], what: "examples", allowPriority: false)
        } ?? []

        var corrections: [CorrectionExample] = []
        for url in yamlFiles("corrections") {
            corrections += withFile(url) { reader, root in
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

        let safetyURL = directory.appendingPathComponent("safety.yaml")
        var safetyRules: [SafetyRule] = []
        if fileManager.fileExists(atPath: safetyURL.path), let community {
            safetyRules = withFile(safetyURL) { reader, root in
                readSafetyRules(reader, root, guidanceKeys: Set(community.emergencyGuidance.keys))
            } ?? []
        }

        /// `urgent.yaml` and `can_wait.yaml`: optional rule files without guidance.
        func cueRules(_ file: String) -> [SafetyRule] {
            let url = directory.appendingPathComponent(file)
            guard fileManager.fileExists(atPath: url.path) else { return [] }
            return withFile(url) { reader, root in
                readSafetyRules(reader, root, file: file, guidanceKeys: nil,
                                categoryIDs: file == "urgent.yaml" ? Set(categories.map(\.id)) : nil)
            } ?? []
        }
        let urgentRules = cueRules("urgent.yaml")
        let canWaitRules = cueRules("can_wait.yaml")

        guard let community else { return (nil, diagnostics) }
        var pack = DataPack(community: community, details: details, categories: categories, conversation: conversation,
                            faqs: faqs, outOfScope: outOfScope, corrections: corrections)
        pack.safetyRules = safetyRules
        pack.urgentRules = urgentRules
        pack.canWaitRules = canWaitRules
        return (pack, diagnostics)
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
                                    "after_hours_emergency_line", "emergency_numbers", "emergency_guidance", "response_targets"]
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
        var targets: [Priority: ResponseTarget] = [:]
        if let entries = reader.mapping(fields["response_targets"], what: "response_targets", allowed: Set(Priority.allCases.map(\.rawValue)),
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
        return Community(name: name, address: reader.string(fields["address"], what: "address") ?? "", timezone: timezone,
                         languages: languages.isEmpty ? Language.allCases : languages, officeHours: officeHours,
                         staffPhone: staffPhone, staffEmail: staffEmail, staffOffice: staffOffice,
                         afterHoursEmergencyLine: reader.string(fields["after_hours_emergency_line"], what: "after_hours_emergency_line") ?? "",
                         emergencyNumbers: emergencyNumbers, emergencyGuidance: guidance, responseTargets: targets)
    }
}
