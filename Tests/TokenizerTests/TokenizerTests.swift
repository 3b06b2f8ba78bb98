import Foundation
import Testing
import TestSupport
@testable import Tokenizer

/// A vocabulary learned from the sample messages plus a few words, shared by the tests.
let testTokenizer: WordPieceTokenizer = {
    let texts = sampleMessages + sampleMessages + [
        "kitchen leaking leak leaks leaked sink sinks", "water pouring ceiling bathroom",
        "水龙头 漏水 厨房 电梯 楼道", "水龙头 漏水 厨房 电梯 楼道",
    ]
    let tokens = VocabularyBuilder(targetSize: 600, minimumFrequency: 2).build(texts: texts)
    return WordPieceTokenizer(vocabulary: try! Vocabulary(tokens: tokens))
}()

@Suite("Normalization")
struct NormalizationTests {
    @Test(arguments: [
        ("Ｔｈｅ ＫＩＴＣＨＥＮ", "the kitchen"),          // full-width forms, case
        ("ﬁx the ﬂoor", "fix the floor"),               // ligatures
        ("① ② ㎡", "1 2 m2"),                           // compatibility characters
        ("Straße", "strasse"),                          // full case folding
        ("CAFÉ café", "café café"),                     // composed after folding
        ("cafe\u{301}", "café"),                         // combining accent composes
        ("厨房，漏水！", "厨房,漏水!"),                   // full-width Chinese punctuation
        ("好的。谢谢、再见", "好的.谢谢,再见"),            // ideographic full stop and comma
        ("【紧急】“漏水”《通知》", "[紧急]\"漏水\"\"通知\""),  // brackets and quotes
        ("don’t", "don't"),                             // typographic apostrophe
        ("a\u{3000}b\tc\nd", "a b c d"),                 // every whitespace is a space
        ("a\u{200B}b\u{00AD}c", "abc"),                  // zero-width and soft hyphen removed
        ("bell\u{07}\u{7F}", "bell"),                    // control characters removed
        ("ｱﾊﾟｰﾄ", "アパート"),                            // half-width katakana
        ("", ""),
    ])
    func normalizes(input: String, expected: String) {
        #expect(TextNormalizer.normalizedString(input) == expected)
    }

    @Test func originsPointBackIntoTheSource() {
        let text = "ＡＢ ﬁ 漏水"
        let normalized = TextNormalizer.normalize(text)
        #expect(normalized.text == "ab fi 漏水")
        let ranges = zip(normalized.originStart, normalized.originEnd).map { Int($0)..<Int($1) }
        #expect(ranges == [0..<1, 1..<2, 2..<3, 3..<4, 3..<4, 4..<5, 5..<6, 6..<7])
    }

    @Test func invalidUTF8IsRepairedNotFatal() {
        let bytes: [UInt8] = [0x6C, 0x65, 0x61, 0x6B, 0xFF, 0xC3, 0x28, 0xE6, 0xBC, 0x8F, 0xE6, 0xB0, 0xB4]
        let (text, encoding) = testTokenizer.encode(utf8: bytes)
        #expect(TextNormalizer.normalizedString(text) == "leak(漏水")
        #expect(encoding.ids.first == testTokenizer.vocabulary.classID)
        #expect(encoding.ids.last == testTokenizer.vocabulary.separatorID)
    }
}

@Suite("Segmentation")
struct SegmentationTests {
    @Test(arguments: [
        ("厨房水龙头漏水了", ["厨房", "水龙头", "漏水", "了"]),
        ("楼道灯坏了，晚上很黑", ["楼", "道", "灯", "坏", "了", ",", "晚上", "很", "黑"]),  // ICU 72's dictionary
        ("The kitchen sink is LEAKING!!", ["the", "kitchen", "sink", "is", "leaking", "!", "!"]),
        ("apt #4B, unit 1203", ["apt", "#", "4b", ",", "unit", "1203"]),
        ("it costs $1,250.50", ["it", "costs", "$", "1,250.50"]),
        ("don't   wait", ["don't", "wait"]),
        ("fire 🔥🔥 now", ["fire", "🔥", "🔥", "now"]),
        ("pay at https://maplecourt.example/pay?id=4. thanks", ["pay", "at", "https://maplecourt.example/pay?id=4", ".", "thanks"]),
        ("email office@maplecourt.example please", ["email", "office@maplecourt.example", "please"]),
        ("see www.maplecourt.example", ["see", "www.maplecourt.example"]),
        ("电梯又坏了 help", ["电梯", "又", "坏", "了", "help"]),
        ("   ", []),
    ])
    func segments(input: String, expected: [String]) {
        #expect(testTokenizer.words(input).map(\.text) == expected)
    }

    @Test func kindsAreReported() {
        let kinds = testTokenizer.words("unit 12 厨房 ! 🔥 a@b.example").map(\.kind)
        #expect(kinds == [.word, .number, .ideographic, .punctuation, .emoji, .link])
    }
}

@Suite("WordPiece")
struct WordPieceTests {
    @Test func greedyLongestMatchWithContinuationPieces() throws {
        let vocabulary = try Vocabulary(tokens: Vocabulary.specialTokens + ["leak", "le", "##ing", "##in", "##g", "l", "##s"])
        let tokenizer = WordPieceTokenizer(vocabulary: vocabulary)
        #expect(tokenizer.tokens("LEAKING leaks") == ["leak", "##ing", "leak", "##s"])
    }

    @Test func unknownCharacterBecomesOneUnknownToken() throws {
        let vocabulary = try Vocabulary(tokens: Vocabulary.specialTokens + ["leak", "##s"])
        let tokenizer = WordPieceTokenizer(vocabulary: vocabulary)
        #expect(tokenizer.tokens("leakxs") == ["leak", "[UNK]", "##s"])
    }

    @Test func chineseFallsBackToCharactersNotUnknown() throws {
        let vocabulary = try Vocabulary(tokens: Vocabulary.specialTokens + ["水", "龙", "头", "漏水", "了"])
        let tokenizer = WordPieceTokenizer(vocabulary: vocabulary)
        #expect(tokenizer.tokens("水龙头漏水了") == ["水", "龙", "头", "漏水", "了"])
        #expect(tokenizer.tokens("水管") == ["水", "[UNK]"])
    }

    @Test func overlongWordIsOneUnknown() {
        let word = String(repeating: "a", count: 150)
        #expect(testTokenizer.tokens("x \(word) y").count == 3)
        #expect(testTokenizer.tokens(word) == ["[UNK]"])
    }

    @Test func truncatesToMaxLengthKeepingSpecials() {
        let encoding = testTokenizer.encode("the kitchen sink is leaking again and again and again", maxLength: 5)
        #expect(encoding.count == 5)
        #expect(encoding.ids.first == testTokenizer.vocabulary.classID)
        #expect(encoding.ids.last == testTokenizer.vocabulary.separatorID)
        #expect(testTokenizer.encode("anything", maxLength: 0).count == 2)
    }

    @Test func offsetsRoundTrip() {
        let text = "Ｔｈｅ KITCHEN sink is LEAKING!! 厨房水龙头漏水了 apt #4B ﬁx"
        let encoding = testTokenizer.encode(text, maxLength: 128)
        let utf16 = Array(text.utf16)
        for (id, range) in zip(encoding.ids, encoding.offsets) where id > testTokenizer.vocabulary.maskID {
            let source = String(decoding: utf16[range], as: UTF16.self)
            let piece = testTokenizer.vocabulary.token(for: id)
            let bare = piece.hasPrefix("##") ? String(piece.dropFirst(2)) : piece
            #expect(TextNormalizer.normalizedString(source).contains(bare), "token \(piece) came from \"\(source)\"")
        }
        let firstWord = encoding.offsets[1]
        #expect(String(decoding: utf16[firstWord], as: UTF16.self) == "Ｔｈｅ")
    }

    @Test func batchEncodingPadsToLongest() {
        let texts = ["sink leaking", "厨房水龙头漏水了，楼道灯坏了", ""]
        let batch = testTokenizer.encodeBatch(texts, maxLength: 64)
        let singles = texts.map { testTokenizer.encode($0, maxLength: 64) }
        #expect(batch.batchSize == 3)
        #expect(batch.sequenceLength == singles.map(\.count).max())
        for (row, single) in singles.enumerated() {
            let slice = Array(batch.ids[(row * batch.sequenceLength)..<((row + 1) * batch.sequenceLength)])
            #expect(Array(slice.prefix(single.count)) == single.ids)
            #expect(slice.dropFirst(single.count).allSatisfy { $0 == testTokenizer.vocabulary.padID })
            let mask = batch.attentionMask[(row * batch.sequenceLength)..<((row + 1) * batch.sequenceLength)]
            #expect(mask.filter { $0 == 1 }.count == single.count)
            #expect(batch.lengths[row] == single.count)
        }
    }
}

@Suite("Vocabulary")
struct VocabularyTests {
    @Test func buildingIsDeterministic() throws {
        let texts = sampleMessages + ["leaking leaks leaked", "水龙头 漏水 水龙头 漏水"]
        let builder = VocabularyBuilder(targetSize: 400, minimumFrequency: 1)
        let first = Vocabulary.fileContents(builder.build(texts: texts))
        let second = Vocabulary.fileContents(builder.build(texts: texts))
        var generator = SeededGenerator(seed: 7)
        let shuffled = Vocabulary.fileContents(builder.build(texts: texts.shuffled(using: &generator)))
        #expect(first == second)
        #expect(first == shuffled)
        let vocabulary = try Vocabulary(fileContents: first)
        #expect(Array(vocabulary.tokens.prefix(5)) == Vocabulary.specialTokens)
        #expect(vocabulary.id(of: "水龙头") != nil)
        #expect(vocabulary.id(of: "##z") != nil, "every ASCII letter can continue a word")
    }

    @Test func learnsFrequentPiecesFirst() {
        let builder = VocabularyBuilder(targetSize: 10_000, minimumFrequency: 2)
        // ##e+##a and ##a+##k both occur 9 times; the tie goes to the smaller string.
        let merges = builder.learnMerges(["leaking": 5, "leak": 3, "peaking": 1], budget: 3)
        #expect(merges == ["##ak", "##eak", "leak"])
    }

    @Test func rejectsBrokenVocabularies() {
        #expect(throws: Vocabulary.Error.missingSpecialToken("[PAD]")) { try Vocabulary(tokens: ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]) }
        #expect(throws: Vocabulary.Error.duplicateToken("a", line: 7)) { try Vocabulary(tokens: Vocabulary.specialTokens + ["a", "a"]) }
        #expect(throws: Vocabulary.Error.emptyToken(line: 6)) { try Vocabulary(fileContents: "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n\nx\n") }
    }

    @Test func shippedVocabularyCoversThePack() throws {
        let url = packageRoot.appendingPathComponent("vocab/vocab.txt")
        let tokenizer = try WordPieceTokenizer(vocabularyFile: url)
        #expect(tokenizer.vocabulary.count > 1000)
        let encoding = tokenizer.encode("The KITCHEN sink is LEAKING!! 厨房水龙头漏水了 apt #4B")
        #expect(!encoding.ids.contains(tokenizer.vocabulary.unknownID))
    }
}

@Suite("Robustness")
struct RobustnessTests {
    /// Random text from a mix of scripts, emoji, whitespace, controls and odd code points.
    static func randomText(length: Int, generator: inout SeededGenerator) -> String {
        let ranges: [ClosedRange<UInt32>] = [0x20...0x7E, 0x00...0x1F, 0xA0...0x24F, 0x300...0x36F, 0x4E00...0x9FFF,
                                             0x3000...0x303F, 0xFF00...0xFFEF, 0x1F300...0x1FAFF, 0xFB00...0xFB06, 0xFDFA...0xFDFA,
                                             0x200B...0x200F, 0x10000...0x10FFFF]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length {
            let range = ranges.randomElement(using: &generator)!
            if let scalar = Unicode.Scalar(UInt32.random(in: range, using: &generator)) { scalars.append(scalar) }
        }
        return String(scalars)
    }

    static func checkInvariants(_ text: String, maxLength: Int = 512) {
        let encoding = testTokenizer.encode(text, maxLength: maxLength)
        let vocabularySize = Int32(testTokenizer.vocabulary.count)
        let length = text.utf16.count
        #expect(encoding.count >= 2 && encoding.count <= maxLength)
        #expect(encoding.ids.allSatisfy { $0 >= 0 && $0 < vocabularySize })
        #expect(encoding.offsets.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= length })
        let starts = encoding.offsets.map(\.lowerBound)
        #expect(starts == starts.sorted(), "offsets never go backwards")
    }

    @Test func randomUnicodeNeverBreaksInvariants() {
        var generator = SeededGenerator(seed: 20261123)
        for _ in 0..<300 {
            Self.checkInvariants(Self.randomText(length: Int.random(in: 0...200, using: &generator), generator: &generator))
        }
    }

    @Test func randomBytesAreRepaired() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<300 {
            let bytes = (0..<Int.random(in: 0...120, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let (text, _) = testTokenizer.encode(utf8: bytes)
            Self.checkInvariants(text)
        }
    }

    @Test func loneSurrogatesInUTF16AreRepaired() {
        let units: [UInt16] = [0x6C, 0xD800, 0x65, 0xDC00, 0x6F1F, 0xD83D, 0xDD25, 0xDFFF]
        let text = String(decoding: units, as: UTF16.self)
        Self.checkInvariants(text)
        #expect(testTokenizer.tokens(text).contains("🔥") || testTokenizer.tokens(text).contains("[UNK]"))
    }

    @Test(arguments: ["   \t\n\u{3000}  ", "😀😃😄😁😆🔥👨‍👩‍👧🇨🇦", "\u{FDFA}\u{FDFA}", "e\u{301}\u{302}\u{303}\u{304}"])
    func edgeInputs(text: String) {
        Self.checkInvariants(text)
    }

    @Test func hundredKilobyteInput() {
        var generator = SeededGenerator(seed: 99)
        var text = ""
        while text.utf8.count < 100_000 {
            text += sampleMessages.randomElement(using: &generator)! + " "
            text += Self.randomText(length: 20, generator: &generator)
        }
        Self.checkInvariants(text, maxLength: 100_000)
        let words = testTokenizer.words(text)
        #expect(words.count > 10_000)
    }
}
