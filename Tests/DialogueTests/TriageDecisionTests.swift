import AssistantTestSupport
import DataPack
import Foundation
import Testing
import TestSupport
import Triage
@testable import Dialogue

/// The triage decision on the real model: kinds, safety, and explanations on
/// messages where the answer is obvious.
@Suite(.serialized) struct TriageDecisionTests {
    let triager = CommunityFixture.triager

    @Test func explanationPointsAtTheWordsThatMatter() throws {
        let decision = try triager.triage("the hallway light is out", explain: true)
        #expect(decision.category == "lighting")
        let words = try #require(decision.explanation?.intentWords).map { $0.word.lowercased() }
        #expect(words.first == "light" || words.first == "hallway", "got \(words)")
        #expect(!words.contains("the") && !words.contains("is"))
    }

    @Test func emergencyLevelsAndTheUrgentFloor() throws {
        let gas = try triager.triage("I smell gas in the hallway of building 2")
        #expect(gas.emergency == .certain && gas.emergencyBasis == .rule && gas.priority == .p1)
        let hotWater = try triager.triage("there's no hot water in my apartment since this morning")
        #expect(hotWater.urgentCue == "no_hot_water" && hotWater.priority == .p2 && hotWater.emergency != .certain)
        let drip = try triager.triage("the bathroom faucet keeps dripping")
        #expect(drip.emergency == nil && drip.urgentCue == nil && drip.priority != .p1, "\(drip)")
        // The new fields print in snake_case.
        let json = try hotWater.jsonLine()
        #expect(json.contains("\"urgent_cue\":\"no_hot_water\"") && json.contains("\"p1_probability\""))
    }

    /// An urgent rule names the lost service even when the model cannot tell
    /// what the message is ("power keeps cutting out" reads like noise).
    @Test func anUrgentRuleMakesARequestOfItsCategory() throws {
        let power = try triager.triage("power keeps cutting out in my whole unit, everything shuts off every 10 min or so")
        #expect(power.kind == .serviceRequest && power.category == "electrical" && power.urgentCue == "no_power", "\(power)")
        #expect(power.priority == .p2 && !power.needsClarification)
        // A question the model is sure is an FAQ stays one.
        let faq = try triager.triage("游泳池几点开放")
        #expect(faq.kind == .faq && faq.urgentCue == nil)
    }

    /// "No rush" makes an ordinary repair P4, never a lost service or a hazard.
    @Test func canWaitLowersOnlyOrdinaryRepairs() throws {
        let hinge = try triager.triage("the kitchen cabinet door is loose, no rush")
        #expect(hinge.priority == .p4, "\(hinge)")
        let fridge = try triager.triage("no rush I guess but the fridge died last night and everything is warm")
        #expect(fridge.priority == .p2 && fridge.urgentCue == "fridge_dead" && fridge.canWaitCue == nil, "\(fridge)")
        let json = try hinge.jsonLine()
        #expect(hinge.canWaitCue == nil || json.contains("\"can_wait_cue\":\"no_rush\""))
    }

    /// Printed and stored with snake_case keys; a line stored with the
    /// camelCase keys of earlier versions still reads.
    @Test func jsonKeysAreSnakeCaseAndOldLinesStillRead() throws {
        let decision = try triager.triage("I smell gas in the hallway", explain: true)
        let line = try decision.jsonLine()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        func keys(_ value: Any) -> [String] {
            if let object = value as? [String: Any] { return object.keys + object.values.flatMap(keys) }
            if let array = value as? [Any] { return array.flatMap(keys) }
            return []
        }
        let all = keys(object)
        #expect(all.contains("model_priority") && all.contains("needs_clarification") && all.contains("matched_text"))
        #expect(all.allSatisfy { $0 == $0.lowercased() }, "camelCase keys: \(all.filter { $0 != $0.lowercased() })")
        #expect(try TriageDecision.decode(jsonLine: line) == decision)
        let legacy = line.replacingOccurrences(of: "\"model_priority\"", with: "\"modelPriority\"")
            .replacingOccurrences(of: "\"needs_clarification\"", with: "\"needsClarification\"")
            .replacingOccurrences(of: "\"intent_words\"", with: "\"intentWords\"")
        #expect(legacy != line)
        #expect(try TriageDecision.decode(jsonLine: legacy) == decision)
    }

    @Test func explanationOffsetsPointIntoTheOriginalText() throws {
        let text = "厨房水龙头漏水了，快来修"
        let decision = try triager.triage(text, explain: true)
        let words = try #require(decision.explanation?.intentWords)
        #expect(!words.isEmpty)
        let utf16 = Array(text.utf16)
        for word in words {
            #expect(String(decoding: utf16[word.start..<word.end], as: UTF16.self) == word.word)
        }
        #expect(words.contains { ["水龙头", "漏水"].contains($0.word) }, "got \(words.map(\.word))")
    }

    @Test func priorityExplanationFindsTheUrgentWords() throws {
        let decision = try triager.triage("water is pouring through my ceiling", explain: true)
        #expect(decision.kind == .serviceRequest)
        #expect(decision.priority == .p1)
        let words = try #require(decision.explanation?.priorityWords).map { $0.word.lowercased() }
        #expect(words.contains("pouring") || words.contains("ceiling"), "got \(words)")
    }

    @Test func safetyRuleRaisesToP1AndNeverLowers() throws {
        let gas = try triager.triage("I can smell gas in the laundry room")
        #expect(gas.safety != nil)
        #expect(gas.priority == .p1)
        #expect(gas.kind == .serviceRequest)
        let routine = try triager.triage("can someone replace the bulb in my closet sometime, no rush")
        #expect(routine.safety == nil)
        #expect(routine.priority != .p1)
    }

    @Test func decisionsCarryKindLanguageAndAlternatives() throws {
        let faq = try triager.triage("游泳池几点开放")
        #expect(faq.language == "zh")
        #expect(faq.kind == .faq)
        #expect(faq.faq == "pool_hours")
        let json = try faq.jsonLine()
        #expect(json.contains("\"kind\":\"faq\""))
        #expect(!json.contains("\n"))
        let decline = try triager.triage("what's the weather in Paris tomorrow")
        #expect(decline.kind == .outOfScope)
        #expect(decline.category == nil)
    }

    @Test func thresholdsAreTunedOnValidationWithinTheirCaps() {
        let thresholds = triager.thresholds
        #expect(thresholds.clarify >= 0 && thresholds.clarify <= DecisionThresholds.maximumClarify)
    }

    @Test func lowestThresholdMeetsTheTarget() {
        // Confident answers are right, unsure ones wrong: the threshold lands between.
        let confidence = [0.9, 0.8, 0.7, 0.3, 0.2, 0.1]
        let correct = [true, true, true, false, false, true]
        let threshold = DecisionThresholds.lowestThreshold(confidence: confidence, correct: correct, target: 0.9, maximum: 0.6)
        #expect(threshold > 0.2 && threshold <= 0.35)
        #expect(DecisionThresholds.lowestThreshold(confidence: confidence, correct: correct.map { _ in false },
                                                   target: 0.9, maximum: 0.6) == 0.6)
    }
}

/// The rule-based readings of residents' words.
struct TextCueTests {
    @Test(arguments: [("unit 4B sink", "4B"), ("apt 3c", "3C"), ("#702 toilet", "702"), ("in 12C the tap", "12C"),
                      ("702室的灯", "702"), ("no unit here", nil), ("status 2024", nil)])
    func units(text: String, unit: String?) {
        #expect(TextCues.unit(in: text) == unit)
    }

    @Test func placesMatchAcrossLanguages() {
        #expect(TextCues.placeIDs(in: "the lobby light") == ["lobby"])
        #expect(TextCues.placeIDs(in: "大堂的灯坏了") == ["lobby"])
        #expect(TextCues.placeIDs(in: "hallway on floor 3").isSuperset(of: ["hallway", "floor 3"]))
        #expect(TextCues.placeIDs(in: "3楼楼道").isSuperset(of: ["hallway", "floor 3"]))
        #expect(TextCues.places(in: "my kitchen").first?.isCommonArea == false)
        #expect(TextCues.placeIDs(in: "challenge").isEmpty)
    }

    @Test(arguments: [("yes please", TextCues.YesNo.yes), ("Yep", .yes), ("no, it's the heating", .no), ("可以", .yes),
                      ("不可以", .no), ("不用了", .no), ("是的", .yes), ("evenings", nil)])
    func yesNo(text: String, answer: TextCues.YesNo?) {
        #expect(TextCues.yesNo(text) == answer)
    }

    @Test(arguments: [("when is the pool open", true), ("Can I keep a cat in my apartment", true), ("rent online?", true),
                      ("游泳池几点开", true), ("可以养猫吗", true), ("anytime", false), ("weekday evenings", false),
                      ("工作日晚上", false), ("随时都可以", false), ("after 5, just knock", false)])
    func readsAsQuestion(text: String, isQuestion: Bool) {
        #expect(TextCues.readsAsQuestion(text) == isQuestion)
    }

    @Test func choicesAndTicketNumbers() {
        #expect(TextCues.choice("2", count: 3) == 1)
        #expect(TextCues.choice("第一个", count: 3) == 0)
        #expect(TextCues.choice("5", count: 3) == nil)
        #expect(TextCues.ticketNumber(in: "status of #42") == 42)
        #expect(TextCues.ticketNumber(in: "12号工单进度") == 12)
        #expect(TextCues.ticketNumber(in: "my leak") == nil)
    }

    @Test func languageFollowsWordsNotDigits() {
        #expect(TextCues.language(of: "楼道灯坏了") == .zh)
        #expect(TextCues.language(of: "my sink") == .en)
        #expect(TextCues.language(of: "4B") == nil)
        #expect(TextCues.language(of: "702") == nil)
    }
}

@Suite("Phrases")
struct PhrasesTests {
    @Test func theAccessAnswerIsShownInTheResidentsLanguage() {
        let zh = Phrases(language: .zh, pack: CommunityFixture.pack)
        #expect(zh.accessAnswer("yes") == "可以")
        #expect(zh.accessAnswer("no (the dog is loose)") == "不可以 (the dog is loose)")
        #expect(zh.accessAnswer("随便") == "随便")
        let en = Phrases(language: .en, pack: CommunityFixture.pack)
        #expect(en.accessAnswer("yes (after 5 only)") == "yes (after 5 only)")
        #expect(en.accessAnswer("yesterday is fine") == "yesterday is fine")
    }
}
