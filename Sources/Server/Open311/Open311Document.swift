import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The formats GeoReport v2 answers in, chosen by the resource's extension
/// (`services.json`, `services.xml`).
enum Open311Format: String, Sendable {
    case json, xml

    var contentType: String { self == .json ? "application/json; charset=utf-8" : "text/xml; charset=utf-8" }

    /// Splits `services.json` into `("services", .json)`. Throws 404 for a
    /// name without an extension and 400 for a format GeoReport does not define.
    static func split(_ document: String) throws -> (name: String, format: Open311Format) {
        guard let dot = document.lastIndex(of: "."), dot != document.startIndex else {
            throw Open311Error(.notFound, "Open311 resources end in .json or .xml, as in services.json; \"\(document.prefix(80))\" does not",
                               format: .json)
        }
        let name = String(document[..<dot])
        let suffix = document[document.index(after: dot)...].lowercased()
        guard let format = Open311Format(rawValue: suffix) else {
            throw Open311Error(.badRequest, "the format \"\(suffix.prefix(20))\" is not served: ask for \(name.prefix(80)).json or \(name.prefix(80)).xml",
                               format: .json)
        }
        return (name, format)
    }

    /// The format a path asks for (`.xml` → XML), JSON otherwise: how errors are written.
    static func of(path: String) -> Open311Format { path.lowercased().hasSuffix(".xml") ? .xml : .json }
}

/// A value of an Open311 answer. Objects keep the spec's field order, and
/// lists name their entries, so one value renders as the spec's JSON and as
/// its XML.
indirect enum Open311Value: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case bool(Bool)
    case null
    case object([Open311Field])
    /// Entries that are `<item>` elements in XML.
    case list(item: String, [Open311Value])

    /// A string, or null when nil.
    static func text(_ value: String?) -> Open311Value { value.map(Open311Value.string) ?? .null }
}

/// One named field of an `Open311Value.object`.
struct Open311Field: Sendable, Equatable {
    var name: String
    var value: Open311Value

    init(_ name: String, _ value: Open311Value) {
        self.name = name
        self.value = value
    }
}

/// A whole Open311 answer: JSON is `body` as it is; XML wraps `body` in `<root>`.
struct Open311Document: Sendable {
    var root: String
    var body: Open311Value

    func response(_ format: Open311Format, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let text = format == .json ? Self.json(body) : Self.xml(root: root, body: body)
        var fields: HTTPFields = [.contentType: format.contentType]
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: JSON

    static func json(_ value: Open311Value) -> String {
        var out = ""
        writeJSON(value, to: &out)
        return out
    }

    private static func writeJSON(_ value: Open311Value, to out: inout String) {
        switch value {
        case .string(let text): writeJSONString(text, to: &out)
        case .integer(let number): out += String(number)
        case .bool(let flag): out += flag ? "true" : "false"
        case .null: out += "null"
        case .object(let fields):
            out += "{"
            for (index, field) in fields.enumerated() {
                if index > 0 { out += "," }
                writeJSONString(field.name, to: &out)
                out += ":"
                writeJSON(field.value, to: &out)
            }
            out += "}"
        case .list(_, let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                writeJSON(item, to: &out)
            }
            out += "]"
        }
    }

    private static func writeJSONString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    // MARK: XML

    static func xml(root: String, body: Open311Value) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        writeXML(element: root, body, to: &out)
        return out + "\n"
    }

    private static func writeXML(element: String, _ value: Open311Value, to out: inout String) {
        switch value {
        case .null:
            out += "<\(element)/>"
        case .string(let text):
            out += "<\(element)>\(XMLText.escaped(text))</\(element)>"
        case .integer(let number):
            out += "<\(element)>\(number)</\(element)>"
        case .bool(let flag):
            out += "<\(element)>\(flag)</\(element)>"
        case .object(let fields):
            out += "<\(element)>"
            for field in fields { writeXML(element: field.name, field.value, to: &out) }
            out += "</\(element)>"
        case .list(let item, let items):
            out += "<\(element)>"
            for entry in items { writeXML(element: item, entry, to: &out) }
            out += "</\(element)>"
        }
    }

}
