import DataPack
import Foundation

/// What the staff page takes from the data pack: the categories (for
/// re-categorising and the filter) and the community's time zone. Empty
/// while the assistant is still loading its model; re-categorising waits
/// for it.
struct StaffCatalog: Sendable {
    struct CategoryName: Sendable {
        var id: String
        var name: String
    }

    var categories: [CategoryName]
    var timeZone: String?

    init(pack: DataPack?) {
        categories = (pack?.categories ?? []).map { CategoryName(id: $0.id, name: $0.name[.en] ?? $0.id) }
            .sorted { $0.name.localizedCaseInsensitiveCompare($1.name) == .orderedAscending }
        timeZone = pack?.community.timezone
    }

    /// Whether the pack has a category `id` (false while loading).
    func has(_ id: String) -> Bool { categories.contains { $0.id == id } }

    /// The category's English name, or its id.
    func name(of id: String) -> String { categories.first { $0.id == id }?.name ?? id }

    /// `<option>`s for a select, `selected` marked.
    func options(selected: String?) -> [StaffOption] {
        var options = categories.map { StaffOption(value: $0.id, label: $0.name, selected: $0.id == selected) }
        // A ticket whose category left the pack still shows it.
        if let selected, !selected.isEmpty, !has(selected) {
            options.insert(StaffOption(value: selected, label: selected, selected: true), at: 0)
        }
        return options
    }
}

/// One `<option>` of a `<select>`.
struct StaffOption: Sendable {
    var value: String
    var label: String
    var selected: Bool
}
