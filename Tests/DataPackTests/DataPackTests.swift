import Foundation
import Testing
import TestSupport
@testable import DataPack

/// Copies the minimal valid pack to a temporary folder, applies `edits`
/// (relative path → new contents, nil to delete), and lints it.
func lintMinimalPack(_ edits: [String: String?] = [:]) throws -> LintReport {
    let source = Bundle.module.url(forResource: "Fixtures/minimal", withExtension: nil)!
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let pack = directory.url.appendingPathComponent("intents")
    try FileManager.default.copyItem(at: source, to: pack)
    for (path, contents) in edits {
        let url = pack.appendingPathComponent(path)
        if let contents {
            try contents.write(to: url, atomically: true, encoding: .utf8)
        } else {
            try FileManager.default.removeItem(at: url)
        }
    }
    return DataPackLinter().check(directory: pack)
}

@Suite("Data pack lint")
struct DataPackLintTests {
    @Test func minimalPackHasNoErrors() throws {
        let report = try lintMinimalPack()
        #expect(report.errors.isEmpty, "\(report.errors)")
        #expect(report.intents.map(\.intent).contains("faq.trash_days"))
        #expect(report.quality.contains { !$0.passed }, "a tiny pack misses the quality bars")
    }

    @Test(arguments: [
        // (file, contents, expected location, expected words in the message)
        ("categories/noise.yaml", "id: noise\nname: {en: Noise, zh: 噪音}\ndefault_priority: P3\nexamples:\n  en: [\"a\", \"b\"\n  zh: [x]\n", "categories/noise.yaml:6", "YAML syntax"),
        ("categories/noise.yaml", "id: noise\nname: {en: Noise, zh: 噪音}\ndefault_priority: P3\ncolour: red\nexamples:\n  en: [loud music]\n  zh: [吵]\n", "categories/noise.yaml:4", "unknown key \"colour\""),
        ("categories/noise.yaml", "id: noise\nname: {en: Noise, zh: 噪音}\ndefault_priority: P7\nexamples:\n  en: [loud music]\n  zh: [吵]\n", "categories/noise.yaml:3", "not one of P1, P2, P3, P4"),
        ("categories/noise.yaml", "id: noise\nname: {en: Noise}\ndefault_priority: P3\nexamples:\n  en: [loud music]\n  zh: [吵]\n", "categories/noise.yaml:2", "missing translation \"zh\""),
        ("categories/noise.yaml", "id: noise\nname: {en: Noise, zh: 噪音}\ndefault_priority: P3\nexamples:\n  en: []\n  zh: [吵]\n", "categories/noise.yaml:5", "is empty"),
        ("categories/noise.yaml", "id: noise\nname: {en: Noise, zh: 噪音}\ndefault_priority: P3\n", "categories/noise.yaml:1", "missing required key \"examples\""),
        ("categories/noise.yaml", "id: noise\nname: {en: Noise, zh: 噪音}\ndefault_priority: P3\nexamples:\n  en: loud music\n  zh: [吵]\n", "categories/noise.yaml:5", "must be a list"),
        ("categories/noise.yaml", "id: loud\nname: {en: Noise, zh: 噪音}\ndefault_priority: P3\nexamples:\n  en: [loud music]\n  zh: [吵]\n", "categories/noise.yaml:1", "does not match the file name"),
        ("categories/noise.yaml", "id: noise\nname: {en: Noise, zh: 噪音}\ndefault_priority: P3\ndetails: [parking_spot]\nexamples:\n  en: [loud music]\n  zh: [吵]\n", "categories/noise.yaml:4", "unknown detail \"parking_spot\""),
        ("categories/noise.yaml", "id: noise\nname: {en: Noise, zh: 噪音}\ndefault_priority: P3\nexamples:\n  en: [loud music, \"Loud music!!\"]\n  zh: [吵]\n", "categories/noise.yaml:5", "duplicate example"),
        ("categories/noise.yaml", "id: noise\nname: {en: Noise, zh: 噪音}\ndefault_priority: P3\nexamples:\n  en: [The kitchen sink drains REALLY slowly.]\n  zh: [吵]\n", "categories/plumbing.yaml:7", "appears in two intents: noise and plumbing (first at categories/noise.yaml:5"),
        ("faqs/trash_days.yaml", "id: trash_days\nquestions:\n  en: [when is garbage day]\n  zh: [哪天收垃圾]\nanswer:\n  en: Monday.\n", "faqs/trash_days.yaml:6", "missing translation \"zh\""),
        ("community.yaml", "name: {en: X, zh: 某}\ntimezone: Mars/Olympus\noffice_hours: []\nstaff_contact: {phone: '1', email: a@b.c}\nemergency_numbers: []\nresponse_targets: {P1: {hours: 1, en: a, zh: b}, P2: {hours: 2, en: a, zh: b}, P3: {hours: 3, en: a, zh: b}, P4: {hours: null, en: a, zh: b}}\n", "community.yaml:2", "unknown timezone"),
        ("community.yaml", "name: {en: X, zh: 某}\ntimezone: UTC\noffice_hours: []\nstaff_contact: {phone: '1', email: a@b.c}\nemergency_numbers: []\nresponse_targets: {P1: {hours: 1, en: a, zh: b}, P2: {hours: 2, en: a, zh: b}, P3: {hours: 3, en: a, zh: b}, P4: {hours: null, en: a, zh: b}}\nstatus_updates:\n  fixd: {en: a, zh: b}\n", "community.yaml:8", "unknown key \"fixd\""),
    ])
    func brokenPackNamesFileAndLine(file: String, contents: String, location: String, message: String) throws {
        let report = try lintMinimalPack([file: contents])
        let matching = report.errors.filter { $0.description.hasPrefix(location) && $0.message.contains(message) }
        #expect(!matching.isEmpty, "expected an error at \(location) containing \(message); got \(report.errors.map(\.description))")
    }

    static let gasRule = "rules:\n  - id: gas\n    guidance: gas\n    patterns: {en: [smell gas], zh: [煤气味]}\n"

    @Test(arguments: [
        // (safety.yaml contents, expected location, expected words in the message)
        ("rules:\n  - id: gas\n    guidance: gass\n    patterns: {en: [smell gas], zh: [煤气味]}\n", "safety.yaml:3:15", "unknown guidance \"gass\""),
        ("rules:\n  - id: gas\n    guidance: gas\n    patterns:\n      en: [smell gas]\n", "safety.yaml:5:7", "no \"zh\" list"),
        ("rules:\n  - id: gas\n    guidance: gas\n    patterns:\n      en: []\n      zh: [煤气味]\n", "safety.yaml:5:11", "gas.patterns.en is empty"),
        ("rules:\n  - id: gas\n    guidance: gas\n    patterns:\n      en: [\"* gas\"]\n      zh: [煤气味]\n", "safety.yaml:5:12", "cannot start or end with a * gap"),
        ("rules:\n  - id: gas\n    guidance: gas\n    patterns:\n      en: [\"smell * * gas\"]\n      zh: [煤气味]\n", "safety.yaml:5:12", "two stars in a row"),
        ("rules:\n  - id: gas\n    guidance: gas\n    patterns:\n      en: [\"!!\"]\n      zh: [煤气味]\n", "safety.yaml:5:12", "has no words"),
        ("rules:\n  - id: gas\n    guidance: gas\n    patterns:\n      en: [\"sm* gas\"]\n      zh: [煤气味]\n", "safety.yaml:5:12", "too short to be a prefix"),
        ("rules:\n  - id: gas\n    guidance: gas\n", "safety.yaml:2:5", "missing required key \"patterns\""),
        ("rules:\n  - id: gas\n    guidance: gas\n    colour: red\n    patterns: {en: [smell gas], zh: [煤气味]}\n", "safety.yaml:4:5", "unknown key \"colour\""),
        ("rules:\n  - id: Gas Leak\n    guidance: gas\n    patterns: {en: [smell gas], zh: [煤气味]}\n", "safety.yaml:2:9", "lower_snake_case"),
        (gasRule + gasRule.dropFirst("rules:\n".count), "safety.yaml:5:9", "a second safety rule \"gas\" (first at safety.yaml:2"),
        ("rules:\n  - id: no_heat\n    guidance: no_heat\n    patterns: {en: [no heat], zh: [没有暖气]}\n    requires_any: {en: [freezing]}\n", "safety.yaml:5:19", "no \"zh\" list"),
        (gasRule, "safety.yaml:1:1", "emergency_guidance \"fire\" has no safety rule"),
    ])
    func brokenSafetyRulesNameFileAndLine(contents: String, location: String, message: String) throws {
        let report = try lintMinimalPack(["safety.yaml": contents])
        let matching = report.errors.filter { $0.description.hasPrefix(location) && $0.message.contains(message) }
        #expect(!matching.isEmpty, "expected an error at \(location) containing \(message); got \(report.errors.map(\.description))")
    }

    @Test(arguments: [
        ("rules:\n  - id: no_hot_water\n    guidance: gas\n    patterns: {en: [no hot water], zh: [没有热水]}\n", "urgent.yaml:3:5",
         "unknown key \"guidance\""),
        ("rules:\n  - id: no_hot_water\n    patterns:\n      en: [no hot water]\n", "urgent.yaml:4:7", "no \"zh\" list"),
        ("rules:\n  - id: a\n    patterns: {en: [no hot water], zh: [没有热水]}\n  - id: a\n    patterns: {en: [no water], zh: [没水]}\n",
         "urgent.yaml:4:9", "a second urgent rule \"a\""),
    ])
    func brokenUrgentRulesNameFileAndLine(contents: String, location: String, message: String) throws {
        let report = try lintMinimalPack(["urgent.yaml": contents])
        let matching = report.errors.filter { $0.description.hasPrefix(location) && $0.message.contains(message) }
        #expect(!matching.isEmpty, "expected an error at \(location) containing \(message); got \(report.errors.map(\.description))")
    }

    @Test func urgentRulesLoadWithoutGuidance() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pack = directory.url.appendingPathComponent("intents")
        try FileManager.default.copyItem(at: Bundle.module.url(forResource: "Fixtures/minimal", withExtension: nil)!, to: pack)
        try "rules:\n  - id: no_hot_water\n    patterns: {en: [no hot water], zh: [没有热水]}\n"
            .write(to: pack.appendingPathComponent("urgent.yaml"), atomically: true, encoding: .utf8)
        let loaded = try DataPackLoader.load(directory: pack).pack
        #expect(loaded.urgentRules.map(\.id) == ["no_hot_water"] && loaded.urgentRules[0].guidance.isEmpty)
    }

    @Test func missingSafetyFileIsAnErrorPerHazard() throws {
        let report = try lintMinimalPack(["safety.yaml": nil])
        let missing = report.errors.filter { $0.message.contains("has no safety rule") }
        #expect(missing.count == 9, "\(report.errors)")
    }

    @Test func safetyRulesAreLoadedInFileOrder() throws {
        let pack = try DataPackLoader.load(directory: Bundle.module.url(forResource: "Fixtures/minimal", withExtension: nil)!).pack
        #expect(pack.safetyRules.map(\.id) == ["gas", "fire", "smoke", "flooding", "electrical", "trapped", "no_heat", "break_in", "carbon_monoxide"])
        let gas = pack.safetyRules[0]
        #expect(gas.guidance == "gas")
        #expect(gas.patterns[.en]?.first?.elements == [.prefix("smell"), .gap, .word("gas")])
        #expect(gas.patterns[.zh]?.first?.elements == [.word("煤"), .word("气"), .word("味")])
        #expect(gas.patterns[.en]?.first?.location?.description == "safety.yaml:5:21")
        #expect(pack.safetyRules[1].except[.en]?.first?.source == "fire drill")
        #expect(pack.safetyRules[6].requiresAny[.zh]?.first?.elements == [.word("零"), .word("下")])
    }

    @Test(arguments: [
        ("Smell  *  GAS", [SafetyPatternElement.word("smell"), .gap, .word("gas")]),
        ("flood*", [.prefix("flood")]),
        ("break-in", [.word("break"), .word("in")]),
        ("Ｇａｓ leak*", [.word("gas"), .prefix("leak")]),
        ("煤气*漏", [.word("煤"), .word("气"), .gap, .word("漏")]),
        ("co报警器 * 响", [.word("co"), .word("报"), .word("警"), .word("器"), .gap, .word("响")]),
        ("don't have heat", [.word("don't"), .word("have"), .word("heat")]),
        ("minus", [.word("minus")]),
    ])
    func parsesSafetyPatterns(source: String, elements: [SafetyPatternElement]) throws {
        #expect(try SafetyPattern(source).elements == elements)
    }

    @Test func safetyTextKeepsOriginalOffsetsAndClauses() {
        let text = "ＮＯ heat, it's -10°C 楼道里"
        let units = SafetyText(text).units
        #expect(units.map(\.text) == ["no", "heat", "it's", "minus", "10", "c", "楼", "道", "里"])
        let utf16 = Array(text.utf16)
        #expect(String(decoding: utf16[units[0].range], as: UTF16.self) == "ＮＯ")
        #expect(units[0].clause == units[1].clause && units[1].clause != units[2].clause)
        #expect(units.last.map { String(decoding: utf16[$0.range], as: UTF16.self) } == "里")
        #expect(units.last?.isHan == true && units[0].isHan == false)
    }

    @Test func missingConversationIntentIsAnError() throws {
        let report = try lintMinimalPack(["conversation/deny.yaml": nil])
        #expect(report.errors.contains { $0.message.contains("missing conversational intent \"deny\"") })
    }

    @Test func loadingABrokenPackThrowsWithEveryError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: DataPackError.self) { try DataPackLoader.load(directory: directory.url) }
    }

    @Test func nearDuplicatesAreWarned() throws {
        let report = try lintMinimalPack(["categories/noise.yaml": "id: noise\nname: {en: Noise, zh: 噪音}\ndefault_priority: P3\nexamples:\n  en: [my upstairs neighbour stomps all night, my downstairs neighbour stomps all night]\n  zh: [吵]\n"])
        #expect(report.warnings.contains { $0.message.hasPrefix("near-duplicate") })
        #expect(report.errors.isEmpty)
    }
}

@Suite("The shipped data pack")
struct ShippedPackTests {
    static let directory = packageRoot.appendingPathComponent("intents")

    @Test func passesStrictCheck() {
        let report = DataPackLinter().check(directory: Self.directory)
        #expect(report.errors.isEmpty, "\(report.errors.prefix(5))")
        #expect(report.warnings.isEmpty, "\(report.warnings.prefix(5))")
        for result in report.quality {
            #expect(result.passed, "\(result.name): \(result.measured), required \(result.required)")
        }
    }

    @Test func hasExactlyTheRequiredCategories() throws {
        let pack = try DataPackLoader.load(directory: Self.directory).pack
        let expected = ["plumbing", "electrical", "heating_cooling", "appliances", "elevator", "doors_locks", "building_maintenance",
                        "pests", "noise", "trash_recycling", "cleaning", "lighting", "parking", "roads_sidewalks", "landscaping",
                        "security", "safety_hazard", "packages_mail", "billing", "amenities", "neighbor_issue"]
        #expect(Set(pack.categories.map(\.id)) == Set(expected))
        #expect(pack.community.responseTargets[.p1]?.hours == 1)
        #expect(pack.community.responseTargets[.p4]?.hours == nil)
    }

    @Test func heldOutSplitIsStratifiedAndStable() throws {
        let pack = try DataPackLoader.load(directory: Self.directory).pack
        let examples = pack.labeledExamples
        let split = DataSplit(examples)
        #expect(split.train.count + split.test.count == examples.count)
        let share = Double(split.test.count) / Double(examples.count)
        #expect(share > 0.13 && share < 0.17)
        // Every category has held-out examples in both languages.
        for category in pack.categories {
            for language in Language.allCases {
                #expect(split.test.contains { $0.intent == category.id && $0.language == language })
            }
        }
        // The same data gives the same split; one added example moves nothing else.
        let again = DataSplit(examples)
        #expect(again.test == split.test)
        var extended = examples
        extended.append(LabeledExample(text: "a brand new example about the pool", language: .en, intent: "amenities", kind: .category,
                                       priority: .p3, hasExplicitPriority: false, location: nil))
        let extendedSplit = DataSplit(extended)
        let before = Set(split.test.map(\.text))
        let after = Set(extendedSplit.test.map(\.text))
        #expect(before.subtracting(after).count <= 1, "at most the one displaced by the new example's group rounding")
    }

    @Test func crossValidationFoldsPartitionTheExamplesByGroup() throws {
        let pack = try DataPackLoader.load(directory: Self.directory).pack
        let examples = DataSplit(pack.labeledExamples).train
        let folds = DataSplit.folds(examples, count: 5)
        #expect(folds.count == 5)
        // Every example is tested exactly once, and trained on in the other folds.
        let tested = folds.flatMap { $0.test.map(\.text) }
        #expect(tested.count == examples.count)
        #expect(Set(tested) == Set(examples.map(\.text)))
        for fold in folds {
            #expect(fold.train.count + fold.test.count == examples.count)
            #expect(Set(fold.train.map(\.text)).isDisjoint(with: fold.test.map(\.text)))
        }
        // Stratified: each (intent, language) group is dealt out evenly.
        let emergencies = { (split: DataSplit) in split.test.filter { $0.priority == .p1 }.count }
        let p1PerFold = folds.map(emergencies)
        #expect(p1PerFold.max()! - p1PerFold.min()! <= 1, "P1 examples spread over the folds: \(p1PerFold)")
        for category in pack.categories {
            let counts = folds.map { fold in
                fold.test.filter { $0.intent == category.id && $0.language == .en && $0.priority == category.defaultPriority }.count
            }
            #expect(counts.max()! - counts.min()! <= 1, "\(category.id) en: \(counts)")
        }
        // Reproducible.
        #expect(DataSplit.folds(examples, count: 5).map(\.test) == folds.map(\.test))
        #expect(DataSplit.folds(examples, count: 1).count == 2)
    }
}

@Suite("Language")
struct LanguageTests {
    @Test(arguments: [("my sink leaks", Language.en), ("厨房漏水", .zh), ("电梯又坏了 help", .zh), ("", .en), ("4B 🔥", .en)])
    func detectsByScript(text: String, expected: Language) {
        #expect(Language.detect(text) == expected)
    }
}

@Suite("Pack fingerprint")
struct DataPackFingerprintTests {
    @Test func changesExactlyWhenTheYAMLChanges() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pack = directory.url.appendingPathComponent("pack")
        try FileManager.default.copyItem(at: Bundle.module.url(forResource: "Fixtures/minimal", withExtension: nil)!, to: pack)
        let original = try DataPackLoader.fingerprint(directory: pack)
        #expect(try DataPackLoader.fingerprint(directory: pack) == original, "stable")
        // A file that is not YAML does not count.
        try "notes".write(to: pack.appendingPathComponent("NOTES.txt"), atomically: true, encoding: .utf8)
        #expect(try DataPackLoader.fingerprint(directory: pack) == original)
        // The safety rules are not learned: editing them does not retrain.
        let safety = pack.appendingPathComponent("safety.yaml")
        try (try String(contentsOf: safety, encoding: .utf8) + "\n# reviewed\n").write(to: safety, atomically: true, encoding: .utf8)
        #expect(try DataPackLoader.fingerprint(directory: pack) == original)
        // One more example does.
        let file = pack.appendingPathComponent("out_of_scope.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        try (text + "\n").write(to: file, atomically: true, encoding: .utf8)
        #expect(try DataPackLoader.fingerprint(directory: pack) != original)
    }
}
