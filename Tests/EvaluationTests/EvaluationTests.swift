import Foundation
import Testing
import TestSupport
@testable import Evaluation

@Suite("Classification report")
struct ClassificationReportTests {
    @Test func perClassMacroAndConfusions() throws {
        // gold:      a a a b b c
        // predicted: a a b b c c
        let report = try ClassificationReport(
            gold: ["a", "a", "a", "b", "b", "c"], predicted: ["a", "a", "b", "b", "c", "c"])
        #expect(report.count == 6)
        #expect(abs(report.accuracy - 4.0 / 6) < 1e-12)
        let a = try #require(report.metrics(of: "a"))
        #expect(a.precision == 1 && abs(a.recall - 2.0 / 3) < 1e-12 && a.support == 3)
        let b = try #require(report.metrics(of: "b"))
        #expect(b.precision == 0.5 && b.recall == 0.5)
        let c = try #require(report.metrics(of: "c"))
        #expect(c.precision == 0.5 && c.recall == 1 && abs(c.f1 - 2.0 / 3) < 1e-12)
        let expectedMacroF1 = (0.8 + 0.5 + 2.0 / 3) / 3
        #expect(abs(report.macroF1 - expectedMacroF1) < 1e-12)
        #expect(report.topConfusions == [Confusion(gold: "a", predicted: "b", count: 1),
                                         Confusion(gold: "b", predicted: "c", count: 1)])
    }

    @Test func aClassOnlyPredictedCountsInTheMacroAverage() throws {
        let report = try ClassificationReport(gold: ["a", "a"], predicted: ["a", "z"])
        #expect(report.classes.map(\.label) == ["a", "z"])
        let z = try #require(report.metrics(of: "z"))
        #expect(z.f1 == 0 && z.support == 0)
        #expect(abs(report.macroF1 - (2.0 / 3) / 2) < 1e-12)
    }

    @Test func outOfScopeMetricsFollowLarson() throws {
        // 4 in-scope (3 right, 1 wrongly rejected), 2 out-of-scope (1 caught, 1 missed as "a").
        let report = try ClassificationReport(
            gold: ["a", "a", "b", "b", "oos", "oos"],
            predicted: ["a", "a", "b", "oos", "oos", "a"], outOfScopeLabel: "oos")
        let oos = try #require(report.outOfScope)
        #expect(oos.inScopeAccuracy == 0.75)
        #expect(oos.recall == 0.5)
        #expect(oos.precision == 0.5)
        #expect(oos.inScopeCount == 4 && oos.outOfScopeCount == 2)
    }

    @Test func calibrationErrorOfKnownBins() throws {
        // Two bins: confidence 0.9 with 50 % right → gap 0.4; confidence 0.3 with 0 % right → gap 0.3.
        let ece = ClassificationReport.calibrationError(
            correct: [true, false, false, false], confidence: [0.9, 0.9, 0.3, 0.3], bins: 10)
        #expect(abs(ece - (0.5 * 0.4 + 0.5 * 0.3)) < 1e-12)
        // Perfectly calibrated: confidence 1 and always right.
        #expect(ClassificationReport.calibrationError(correct: [true, true], confidence: [1, 1], bins: 15) == 0)
    }

    @Test func inconsistentInputsAreErrors() {
        #expect(throws: MetricsError.self) { try ClassificationReport(gold: ["a"], predicted: []) }
        #expect(throws: MetricsError.self) { try ClassificationReport(gold: [], predicted: []) }
        #expect(throws: MetricsError.self) {
            try ClassificationReport(gold: ["a"], predicted: ["a"], confidence: [0.5, 0.5])
        }
    }
}

@Suite("Benchmark datasets")
struct BenchmarkDatasetTests {
    @Test func csvQuotingAndLines() throws {
        let text = "text,category\n\"a, b\",x\n\"say \"\"hi\"\"\",y\r\nplain,z\n\"two\nlines\",w\n"
        let records = try CSVReader.records(text, file: "t.csv")
        #expect(records.map(\.fields) == [["text", "category"], ["a, b", "x"], ["say \"hi\"", "y"],
                                          ["plain", "z"], ["two\nlines", "w"]])
        #expect(records.map(\.line) == [1, 2, 3, 4, 5])
    }

    @Test func brokenCSVNamesTheLine() {
        #expect(throws: DatasetError(file: "t.csv", line: 2, message: "a quoted field is never closed")) {
            try CSVReader.records("text,category\n\"open,x\n", file: "t.csv")
        }
        #expect(throws: DatasetError(file: "t.csv", line: 2, message: "a quote inside an unquoted field")) {
            try CSVReader.records("text,category\nab\"c,x\n", file: "t.csv")
        }
    }

    @Test func readsBankingStyleFilesAndSplitsStratified() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var train = "text,category\n"
        for index in 0..<20 { train += "card question \(index),card\n\"top up, \(index)\",top_up\n" }
        try train.write(to: directory.url.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        try "text,category\nwhere is my card,card\n".write(
            to: directory.url.appendingPathComponent("test.csv"), atomically: true, encoding: .utf8)
        let dataset = try BenchmarkDatasets.banking77(at: directory.url, validationFraction: 0.1)
        #expect(dataset.train.count == 36 && dataset.validation.count == 4 && dataset.test.count == 1)
        #expect(dataset.validation.filter { $0.label == "card" }.count == 2)
        #expect(Set(dataset.train).isDisjoint(with: dataset.validation))
        let again = try BenchmarkDatasets.banking77(at: directory.url, validationFraction: 0.1)
        #expect(again.validation == dataset.validation, "the split is stable")
    }

    @Test func missingFilesAndBadJSONAreClearErrors() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: DatasetError.self) { try BenchmarkDatasets.banking77(at: directory.url) }
        let file = directory.url.appendingPathComponent("data_full.json")
        try "{\"train\": [[\"hi\", \"greet\"]], \"val\": []}".write(to: file, atomically: true, encoding: .utf8)
        do {
            _ = try BenchmarkDatasets.clinc150(at: directory.url)
            Issue.record("expected an error for the missing test split")
        } catch let error as DatasetError {
            #expect(error.message.contains("'test'"))
        }
        try "{\"train\": [[\"hi\"]], \"val\": [], \"test\": []}".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: DatasetError.self) { try BenchmarkDatasets.clinc150(at: file) }
    }

    @Test func clincFullFromSharedDatasets() throws {
        let location = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/datasets/clinc150")
        let dataset = try BenchmarkDatasets.clinc150(at: location)
        #expect(dataset.labelCount == 151)
        #expect(dataset.train.count == 15_100 && dataset.validation.count == 3_100 && dataset.test.count == 5_500)
        #expect(dataset.test.filter { $0.label == "oos" }.count == 1_000)
    }
}
