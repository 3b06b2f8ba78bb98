import DataPack
import Foundation
import Testing
import TestSupport
import Tokenizer
@testable import Triage

@Suite("Cross-validation")
struct CrossValidationTests {
    @Test func cutsTheTrainingSideNeverTheHeldOutSplit() {
        let whole = PackTrainingData(pack: shippedPack)
        let cuts = PackTrainingData.crossValidation(pack: shippedPack, folds: 3)
        #expect(cuts.count == 3)
        let heldOut = Set(whole.heldOut.map(\.text))
        let trainingSide = whole.train.count + whole.validation.count
        #expect(cuts.map(\.heldOut.count).reduce(0, +) == trainingSide, "every training-side message is tested once")
        for cut in cuts {
            #expect(cut.train.count + cut.validation.count + cut.heldOut.count == trainingSide)
            #expect(!cut.validation.isEmpty)
            for example in cut.train + cut.validation + cut.heldOut {
                #expect(!heldOut.contains(example.text), "the pack's held-out split stays unread: \(example.text)")
            }
            let tested = Set(cut.heldOut.map(\.text))
            #expect(!(cut.train + cut.validation).contains { tested.contains($0.text) }, "no fold trains on what it tests")
        }
    }

    /// A deliberately small model (one epoch, a 16-wide encoder) on the real
    /// pack: the pooled report must account for every message and every P1.
    @Test func poolsEveryFoldsDecisions() throws {
        let tokenizer = try WordPieceTokenizer(vocabularyFile: packageRoot.appendingPathComponent("vocab/vocab.txt"))
        var recipe = tinyRecipe
        recipe.options.epochs = 1
        recipe.options.threads = 2
        recipe.options.batchSize = 64
        let report = try CrossValidation.run(pack: shippedPack, tokenizer: tokenizer, recipe: recipe, folds: 2)
        let whole = PackTrainingData(pack: shippedPack)
        let trainingSide = whole.train + whole.validation
        #expect(report.folds.count == 2)
        #expect(report.folds.map(\.testMessages).reduce(0, +) == trainingSide.count)
        #expect(report.model.intent.count == trainingSide.count)
        #expect(report.triage.messages == trainingSide.count)
        #expect(report.triage.p1Total == trainingSide.filter { $0.priority == "P1" }.count)
        #expect(report.model.priority?.metrics(of: "P1")?.support == report.triage.p1Total)
        #expect(report.wordsOnly == nil, "the recipe reads no rule features")
        // The triage's rule findings are the rules' own, message by message.
        let emergencies = trainingSide.filter { $0.priority == "P1" }
        #expect(report.triage.p1CaughtByRules == emergencies.filter { shippedSafety.firstFinding(in: $0.text) != nil }.count)
    }
}
