import Foundation

/// The one rule for JSON keys Concierge prints or serves: snake_case.
public enum SnakeCaseKeys {
    /// `categoryAccuracy` → `category_accuracy`, `macroF1` → `macro_f1`,
    /// `p1Probability` → `p1_probability`. A key that does not start with a
    /// lowercase letter is data, not a field name, and stays as it is: the
    /// labels a report is keyed by (`P1`, `faq.pool_hours`).
    public static func convert(_ key: String) -> String {
        guard let first = key.first, first.isLowercase else { return key }
        var result = ""
        var previous: Character?
        for character in key {
            if character.isUppercase {
                if let previous, previous.isLowercase || previous.isNumber { result.append("_") }
                result.append(contentsOf: character.lowercased())
            } else {
                result.append(character)
            }
            previous = character
        }
        return result
    }

    /// The encoding strategy that applies ``convert(_:)`` to every key.
    public static var encodingStrategy: JSONEncoder.KeyEncodingStrategy {
        .custom { path in Key(convert(path.last?.stringValue ?? "")) }
    }

    /// A coding key made of a string.
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
