import Foundation
import Testing
@testable import concierge

/// What the CLI prints as JSON has snake_case keys; labels used as keys stay as they are.
@Suite struct JSONKeysTests {
    @Test(arguments: [("categoryAccuracy", "category_accuracy"), ("macroF1", "macro_f1"), ("p1Recall", "p1_recall"),
                      ("inScopeAccuracy", "in_scope_accuracy"), ("already_snake", "already_snake"), ("text", "text"),
                      ("P1", "P1"), ("faq.pool_hours", "faq.pool_hours"), ("", "")])
    func keysBecomeSnakeCase(key: String, expected: String) {
        #expect(snakeCaseKey(key) == expected)
    }
}
