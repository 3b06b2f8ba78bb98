import DataPack
import Foundation

/// The community's service categories as GeoReport services: `service_code`
/// is the category id, `service_name` its English name. No service needs
/// extra attributes (`metadata` is false), and every request is a ticket at
/// once (`type` is `realtime`).
struct Open311Services {
    let pack: DataPack

    /// The category with this id, or nil.
    func category(_ code: String) -> Category? { pack.categories.first { $0.id == code } }

    /// The English name of a category (its id when it has none).
    func name(of code: String) -> String { category(code).map(Self.englishName) ?? code }

    static func englishName(_ category: Category) -> String { category.name[.en] ?? category.name.values.sorted().first ?? category.id }

    /// `GET services.json`: every category, in the pack's order.
    var list: Open311Document {
        Open311Document(root: "services", body: .list(item: "service", pack.categories.map(service)))
    }

    /// One service, with the fields GeoReport v2 defines, in its order.
    func service(_ category: Category) -> Open311Value {
        let name = Self.englishName(category)
        let community = pack.community.name[.en] ?? "the community"
        var description = "\(name) requests at \(community)"
        if let example = category.examples.first(where: { $0.language == .en })?.text {
            description += ", for example: \(example)"
        }
        // Words a client can search by: the id's words and the name in every language.
        var keywords = category.id.split(separator: "_").map(String.init)
        for language in Language.allCases {
            if let translated = category.name[language], !keywords.contains(translated.lowercased()) { keywords.append(translated) }
        }
        return .object([
            Open311Field("service_code", .string(category.id)),
            Open311Field("service_name", .string(name)),
            Open311Field("description", .string(description)),
            Open311Field("metadata", .bool(false)),
            Open311Field("type", .string("realtime")),
            Open311Field("keywords", .string(keywords.joined(separator: ", "))),
            Open311Field("group", .string(community)),
        ])
    }

    /// `GET services/{code}.json`: the service's extra attributes — none.
    func definition(_ category: Category) -> Open311Document {
        Open311Document(root: "service_definition", body: .object([
            Open311Field("service_code", .string(category.id)),
            Open311Field("attributes", .list(item: "attribute", [])),
        ]))
    }
}
