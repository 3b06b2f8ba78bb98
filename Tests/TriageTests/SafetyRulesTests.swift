import DataPack
import Foundation
import Testing
import TestSupport
@testable import Triage

/// The shipped pack's rules (intents/safety.yaml) with its guidance.
let shippedPack: DataPack = try! DataPackLoader.load(directory: packageRoot.appendingPathComponent("intents")).pack
let shippedSafety = SafetyRules(pack: shippedPack)

@Suite("Safety rules")
struct SafetyRulesTests {
    @Test(arguments: [
        // (message, the rule that must fire)
        ("I smell gas in the hallway", "gas"),
        ("there's smoke coming from the outlet", "smoke"),
        ("there's smoke coming from the outlet", "electrical"),
        ("water pouring through my ceiling", "flooding"),
        ("stuck in the elevator", "trapped"),
        ("HELP we are STUCK in the elevator between floors!!", "trapped"),
        ("no heat and it's -10 outside, my baby is here", "no_heat"),
        ("our heating is not working and my 85 year old mother is freezing", "no_heat"),
        ("the kitchen is on fire", "fire"),
        ("sparks coming out of the bathroom outlet", "electrical"),
        ("someone broke into my storage locker", "break_in"),
        ("our carbon monoxide alarm is going off", "carbon_monoxide"),
        ("smells like rotten eggs near the boiler room", "gas"),
        ("oh no there's smoke in the stairwell", "smoke"),
        ("the water won't stop pouring from the pipe", "flooding"),
        ("I can't get out of the elevator", "trapped"),
        ("no smoke in my unit but there's smoke in the hallway", "smoke"),
        ("楼道里有煤气味", "gas"),
        ("电梯里困住人了", "trapped"),
        ("有人撬我家门", "break_in"),
        ("厨房着火了！", "fire"),
        ("天花板漏水，地上都是水了", "flooding"),
        ("插座冒火花了", "electrical"),
        ("外面零下十度，家里没有暖气，老人冻得发抖", "no_heat"),
        ("电梯门打不开，我们被困在里面了", "trapped"),
        ("水管爆了，水一直止不住", "flooding"),
        ("一氧化碳报警器一直在响", "carbon_monoxide"),
        ("楼道里全是烟", "smoke"),
        ("我的kitchen有煤气味 please help", "gas"),
        ("the smoke alarm is going off and there's smoke everywhere", "smoke"),
        ("I'm not sure but I think I smell gas", "gas"),
        ("I don't know where the smoke is coming from", "smoke"),
        ("不知道哪里来的浓烟", "smoke"),
        ("水管爆了，水不停地往外喷水", "flooding"),
        ("别人家着火了，火苗很大", "fire"),
        // the hazards added after the rule-coverage review of the training split
        ("the fire alarm in building 4 has been going off for ten minutes", "fire_alarm"),
        ("5号楼的火警一直在响", "fire_alarm"),
        ("my husband collapsed in the hallway and he's unconscious", "medical"),
        ("a kid got stung by a bee and she's allergic, face swelling", "medical"),
        ("停电了，我妈妈靠制氧机呼吸", "medical"),
        ("楼梯间有个老人晕倒了", "medical"),
        ("a man in the parking garage is waving a knife at people", "violence"),
        ("somebody just snatched my phone outside the lobby", "violence"),
        ("楼下有人拿着刀追人", "violence"),
        ("the elevator dropped two floors with my daughter inside", "elevator"),
        ("电梯突然往下掉，吓死了", "elevator"),
        ("I can hear someone banging inside the elevator on 7", "trapped"),
        ("a big piece of concrete is falling off the parkade wall, it's about to come down", "structural"),
        ("大树随时会倒，就在儿童游乐场旁边", "structural"),
        ("the electrical room floor is wet, water is dripping onto the electrical panel", "electrical"),
        ("there's a downed power line in the visitor lot", "electrical"),
        ("插座摸着很烫，还有烧化的味道", "electrical"),
        ("I locked myself out and there's a pot on the stove", "lockout_danger"),
        ("孩子一个人在屋里，门被反锁了", "lockout_danger"),
        ("the ramp is icy and my neighbour slipped and hurt her wrist", "ice"),
        ("门口台阶结冰了，刚才有人摔倒了", "ice"),
        ("the fire truck can't get past the cars in the fire lane", "fire_access"),
        ("卫生间天花板漏水像下雨一样", "flooding"),
    ])
    func fires(message: String, rule: String) {
        let matches = shippedSafety.matches(message)
        #expect(matches.contains { $0.ruleID == rule }, "\(message) → \(matches.map(\.ruleID))")
    }

    @Test(arguments: [
        // negations
        "no gas smell, just checking the stove",
        "I don't smell gas anymore",
        "there is no smoke",
        "there isn't any smoke, the alarm is just chirping",
        "the gas smell is gone now",
        "not trapped, the elevator is just slow",
        "nobody is trapped, the elevator is stopped on 3",
        "it's not a fire, just burnt toast",
        "no flooding, just a small drip under the sink",
        "we have no heat but it's mild out",
        // no heat without someone vulnerable in the cold home: the rubric's P2 (an urgent rule)
        "no heat and it's -10 outside",
        "暖气停了一天了，屋里冷得受不了",
        "没有煤气味",
        "不是着火，只是烧糊了",
        "没有人被困，电梯只是停在三楼",
        "我没闻到煤气味",
        "煤气味已经没了",
        "暖气坏了，不过今天不冷",
        "no heat, but it's not cold at all",
        // near-misses
        "gas bill question",
        "where is the fire extinguisher",
        "the smoke alarm battery chirps",
        "can I smoke on my balcony",
        "my neighbour's cigarette smoke comes into my unit",
        "when is the next fire drill",
        "the floodlight in the parking lot is out",
        "is a fire pit allowed on the patio",
        "the key broke in the lock",
        "can someone fix the sink in my unit",
        "the heat finally kicked in",
        "燃气费怎么交",
        "烟雾报警器没电了一直在叫",
        "楼下有人抽烟，烟味很大",
        "灭火器在哪里",
        "打火机掉进下水道了",
        // look-alikes of the hazards added after the rule-coverage review
        "the fire alarm test is on Tuesday at 10",
        "明天上午火警测试，铃会响",
        "my glue gun set off nothing, just asking about crafts room hours",
        "I'm locked out of my unit, can someone bring a key",
        "被锁在门外了，钥匙忘带了",
        "the front steps are icy, please salt them",
        "台阶结冰了，差点摔倒",
        "the back steps are icy and I almost slipped",
        "能不能在车库给电动车带电瓶充电",
        "the package with my EpiPen refill never arrived",
        "who pays if there's ever a flood from the unit above",
        "the elevator is slow but works fine",
        "I dropped my keys in the elevator, did anyone hand them in",
    ])
    func doesNotFire(message: String) {
        let matches = shippedSafety.matches(message)
        #expect(matches.isEmpty, "\(message) → \(matches.map { "\($0.ruleID): \($0.text) (\($0.pattern))" })")
    }

    @Test(arguments: [
        ("there's no gas smell, but my stove burner won't light", true),
        ("没有煤气味，只是炉灶打不着", true),
        ("没有着火，就是烟雾报警器坏了", true),
        ("I don't smell gas anymore", true),
        ("I smell gas in the hallway", false),
        ("my stove burner won't light", false),
        ("the hallway light is out", false),
    ])
    func deniedHazardsAreTold(message: String, denied: Bool) {
        #expect(shippedSafety.deniesHazard(in: message) == denied, "\(message)")
    }

    @Test func matchCarriesTheOriginalSpanAndGuidance() throws {
        let message = "Ｉ SMELL  Gas in 4B!!"
        let match = try #require(shippedSafety.matches(message).first)
        #expect(match.ruleID == "gas" && match.guidance == "gas")
        #expect(match.text == "SMELL  Gas")
        let utf16 = Array(message.utf16)
        #expect(String(decoding: utf16[match.range], as: UTF16.self) == match.text)
        #expect(match.range == 2..<12)

        let chinese = "喂，楼道里有煤气味"
        let zh = try #require(shippedSafety.matches(chinese).first)
        #expect(zh.text == "煤气味" && zh.range == 6..<9)

        let guidance = shippedSafety.guidance(for: [match, zh], language: .zh)
        #expect(guidance == [shippedPack.community.emergencyGuidance["gas"]![.zh]!], "one text per guidance key")
    }

    @Test func mostSevereRuleComesFirst() {
        let ids = shippedSafety.matches("there's smoke coming from the outlet and the kitchen is on fire").map(\.ruleID)
        #expect(ids.first == "fire", "\(ids)")
        #expect(Set(ids).isSuperset(of: ["fire", "smoke", "electrical"]))
        let order = shippedPack.safetyRules.map(\.id)
        #expect(ids == order.filter { ids.contains($0) }, "file order")
    }

    @Test func safetyOnlyRaisesToP1() {
        let fired = shippedSafety.matches("I smell gas")
        let none = shippedSafety.matches("my sink drips")
        #expect(!fired.isEmpty && none.isEmpty)
        for priority in [Priority?.none, .p1, .p2, .p3, .p4] {
            #expect(SafetyRules.apply(to: priority, matches: fired) == .p1)
            #expect(SafetyRules.apply(to: priority, matches: none) == priority, "never changed without a match")
        }
        #expect(SafetyRules.apply(to: Priority?.none, matches: fired) == .p1)
        #expect(SafetyRules.apply(to: Priority?.none, matches: none) == nil)
    }

    @Test func everyRuleHasGuidanceInEveryLanguageAndEveryHazardHasARule() {
        #expect(!shippedPack.safetyRules.isEmpty)
        for rule in shippedPack.safetyRules {
            for language in Language.allCases {
                let text = shippedPack.community.emergencyGuidance[rule.guidance]?[language]
                #expect(text?.isEmpty == false, "\(rule.id): no \(language.rawValue) guidance \"\(rule.guidance)\"")
                #expect(rule.patterns[language]?.isEmpty == false, "\(rule.id): no \(language.rawValue) patterns")
            }
        }
        let covered = Set(shippedPack.safetyRules.map(\.guidance))
        for hazard in shippedPack.community.emergencyGuidance.keys {
            #expect(covered.contains(hazard), "no rule for \(hazard)")
        }
    }

    @Test func requiresAnyIsNeededAndMustBeOutsideTheMatch() throws {
        let rule = SafetyRule(id: "no_heat", guidance: "no_heat",
                              patterns: [.en: [try SafetyPattern("radiator* * cold")]],
                              requiresAny: [.en: [try SafetyPattern("cold"), try SafetyPattern("freezing")]])
        let rules = SafetyRules(rules: [rule])
        #expect(rules.matches("the radiators are cold").isEmpty, "the condition may not be the matched word itself")
        #expect(rules.matches("the radiators are cold and it's freezing").count == 1)
    }

    @Test func exceptPhrasesAndPrefixes() throws {
        let rule = SafetyRule(id: "fire", guidance: "fire", patterns: [.en: [try SafetyPattern("a fire")]],
                              except: [.en: [try SafetyPattern("fire drill*")]])
        let rules = SafetyRules(rules: [rule])
        #expect(rules.matches("is there a fire drill today").isEmpty)
        let message = "there's a fire drills notice, and a fire in 3C"
        let match = rules.matches(message).first
        #expect(match?.text == "a fire")
        #expect(match?.range == message.utf16.count - "a fire in 3C".utf16.count ..< message.utf16.count - " in 3C".utf16.count)
    }

    @Test func fastEnoughForEveryMessage() {
        let messages = ["I smell gas in the hallway", "楼道里有煤气味", "the kitchen sink drains really slowly, can someone look at it this week?"]
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<100 { for message in messages { _ = shippedSafety.matches(message) } }
        }
        #expect(elapsed < .seconds(3), "\(elapsed) for 300 messages (debug build)")
    }
}

/// Not a quality bar: how the rules do on the whole shipped pack, printed for
/// docs/benchmarks.md (P1 examples caught; non-P1 examples they fire on).
@Suite("Safety rules on the shipped pack")
struct SafetyRulesPackFigures {
    @Test func reportsCoverageAndFalseAlarms() {
        var lines: [String] = []
        let heldOut = DataSplit(shippedPack.labeledExamples).test
        for (name, pool) in [("whole pack", shippedPack.labeledExamples), ("held-out split", heldOut)] {
        lines.append(name)
        for language in Language.allCases {
            let examples = pool.filter { $0.language == language }
            let p1 = examples.filter { $0.priority == .p1 }
            let others = examples.filter { $0.priority != .p1 }
            let caught = p1.filter { !shippedSafety.matches($0.text).isEmpty }.count
            let falseAlarms = others.filter { !shippedSafety.matches($0.text).isEmpty }
            let byKind = Dictionary(grouping: falseAlarms) { $0.priority?.rawValue ?? $0.kind.rawValue }.mapValues(\.count)
            let missedBy = Dictionary(grouping: p1.filter { shippedSafety.matches($0.text).isEmpty }, by: \.intent).mapValues(\.count)
            let alarmsBy = Dictionary(grouping: falseAlarms, by: \.intent).mapValues(\.count)
            func list(_ counts: [String: Int]) -> String { counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }
            lines.append("  \(language.rawValue): P1 caught \(caught)/\(p1.count); fired on \(falseAlarms.count)/\(others.count) non-P1 (\(list(byKind)))")
            lines.append("      P1 missed by category: \(list(missedBy))")
            lines.append("      fired on non-P1 by intent: \(list(alarmsBy))")
        }
        }
        print("safety rules on the shipped pack:\n" + lines.joined(separator: "\n"))
        if ProcessInfo.processInfo.environment["SAFETY_REPORT_FILE"] != nil {
            try? lines.joined(separator: "\n").write(toFile: ProcessInfo.processInfo.environment["SAFETY_REPORT_FILE"]!,
                                                     atomically: true, encoding: .utf8)
        }
    }
}

@Suite("Safety rules as model features")
struct SafetyRuleFeatureTests {
    @Test func firedRulesAreTheFeatures() {
        #expect(shippedSafety.features(of: "I smell gas in the hallway") == ["safety.gas"])
        #expect(shippedSafety.features(of: "no gas smell, just checking the stove").isEmpty)
        #expect(shippedSafety.features(of: "can someone fix the sink in my unit").isEmpty)
    }

    @Test func fingerprintFollowsThePhrasesOnly() throws {
        let gas = try SafetyPattern("smell* * gas")
        let leak = try SafetyPattern("gas leak*")
        let rule = SafetyRule(id: "gas", guidance: "gas", patterns: [.en: [gas]])
        var moved = rule
        moved.location = SourceLocation(file: "safety.yaml", line: 40)
        var widened = rule
        widened.patterns[.en] = [gas, leak]
        #expect(SafetyRules(rules: [rule]).fingerprint == SafetyRules(rules: [moved]).fingerprint)
        #expect(SafetyRules(rules: [rule]).fingerprint != SafetyRules(rules: [widened]).fingerprint)
        #expect(shippedSafety.fingerprint != SafetyRules(rules: [rule]).fingerprint)
    }
}

/// The shipped urgent rules (intents/urgent.yaml): an essential service lost
/// or security compromised is at least P2, never P1 by itself.
@Suite struct UrgentRulesTests {
    static let urgent = SafetyRules(rules: shippedPack.urgentRules)

    @Test(arguments: ["there's no hot water in my apartment since this morning", "我家没有热水了", "the fridge died, everything is warm",
                      "our front door won't lock", "入户门锁不上了", "the power is out in my unit"])
    func firesOnEssentialServicesLost(text: String) {
        #expect(!Self.urgent.matches(text).isEmpty, "\(text)")
    }

    @Test(arguments: ["the bathroom faucet drips a little", "one light in the garage is out", "厨房有蟑螂",
                      "there's no problem with the hot water, I just want a new shower head",
                      "left elevator's been out since yesterday, the right one works", "两部电梯坏了一部，另一部能用"])
    func doesNotFireOnOrdinaryRepairs(text: String) {
        #expect(Self.urgent.matches(text).isEmpty, "\(text): \(Self.urgent.matches(text).map(\.ruleID))")
    }

    /// Residents drop apostrophes and write "'s": `doesn't latch` matches
    /// "doesnt latch", `heat * been off` matches "the heat's been off".
    @Test func apostrophesAreWrittenEitherWay() {
        #expect(Self.urgent.matches("the back door doesnt latch anymore").map(\.ruleID) == ["entry_wont_close"])
        #expect(Self.urgent.matches("the heat's been off since last night").map(\.ruleID) == ["no_heat"])
        #expect(SafetyRules.isPossessive("heat's", of: "heat") && !SafetyRules.isPossessive("heater", of: "heat"))
        #expect(SafetyRules.isUnapostrophized("doesnt", of: "doesn't") && !SafetyRules.isUnapostrophized("doesn", of: "doesn't"))
        #expect(!SafetyRules.isUnapostrophized("does", of: "does"), "a word without an apostrophe is only itself")
    }

    /// An urgent rule may name its category (used when the model cannot tell);
    /// every category it names exists.
    @Test func categoriesNamedByRulesExist() {
        let named = shippedPack.urgentRules.compactMap(\.category)
        #expect(named.count >= 20)
        #expect(Set(named).isSubset(of: Set(shippedPack.categories.map(\.id))))
        #expect(shippedPack.urgentRules.first { $0.id == "no_power" }?.category == "electrical")
    }
}

/// The anchor screen (a pattern is tried only when its longest word is in the
/// message) changes no result: every pack example, and the words residents
/// write differently ("heat's", "doesnt"), match the same with and without it.
@Suite struct AnchorScreenTests {
    @Test func theScreenNeverChangesWhatFires() throws {
        let sets = [shippedSafety, UrgentRulesTests.urgent, CanWaitRulesTests.canWait]
        var texts = shippedPack.categories.flatMap { $0.examples.map(\.text) } + shippedPack.outOfScope.map(\.text)
        texts += ["the heat's been off", "the back door doesnt latch anymore", "fridge's dead", "no rush, whenever you have time"]
        #expect(texts.count > 2000)
        var fired = 0
        for rules in sets {
            for text in texts {
                let screened = rules.matches(text), unscreened = rules.matches(text, screening: false)
                #expect(screened == unscreened, "\(text)")
                fired += screened.count
            }
        }
        #expect(fired > 500, "the rules fire on the pack's urgent and emergency examples")
    }
}

/// The shipped can-wait rules (intents/can_wait.yaml).
@Suite struct CanWaitRulesTests {
    static let canWait = SafetyRules(rules: shippedPack.canWaitRules)

    @Test(arguments: ["bedroom door hinge squeaks, no rush at all", "paint chipped on the door frame, not urgent, whenever",
                      "卧室门合页吱吱响，不影响使用，方便的时候上点油吧", "燃气灶旋钮掉了一个，不着急"])
    func firesWhenTheResidentSaysItCanWait(text: String) {
        #expect(!Self.canWait.matches(text).isEmpty, "\(text)")
    }

    @Test(arguments: ["the sink leaks whenever I use the dishwasher", "I can't wait any longer, fix the heat",
                      "有空调的房间都不制冷", "this is urgent"])
    func doesNotFireOnLookAlikes(text: String) {
        #expect(Self.canWait.matches(text).isEmpty, "\(text): \(Self.canWait.matches(text).map(\.ruleID))")
    }
}
