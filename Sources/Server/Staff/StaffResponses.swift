import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The responses the staff page sends besides JSON errors.
enum StaffResponse {
    /// An HTML page (or fragment) with `status`.
    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// A 303 to `location` (a path on this server), so the browser follows with a GET.
    static func redirect(to location: String, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.location: location]
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    /// A static asset (the stylesheet, the script).
    static func asset(_ text: String, contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType, .cacheControl: "no-cache"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Where the login page may send someone back to after signing in: only a
/// path of the staff page itself, never another site (`//evil.example`,
/// `/\evil.example`) or anything with control characters.
enum StaffReturnPath {
    static func validated(_ candidate: String?) -> String? {
        guard let candidate, candidate == "/staff" || candidate.hasPrefix("/staff/") || candidate.hasPrefix("/staff?") else {
            return nil
        }
        guard candidate.count <= 512, !candidate.contains("//"), !candidate.contains("\\"),
              !candidate.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else { return nil }
        return candidate
    }

    /// The request's own path and query, to come back to after signing in.
    static func of(_ request: Request) -> String {
        let query = request.uri.query.map { "?\($0)" } ?? ""
        return request.uri.path + query
    }

    /// `/staff/login?next=…` for a page that needs a session.
    static func login(returningTo path: String) -> String {
        guard let path = validated(path), path != "/staff" else { return "/staff/login" }
        return "/staff/login?next=" + (path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
    }
}

extension Request {
    /// The query parameter `name`, percent-decoded, or nil.
    func staffQuery(_ name: String) -> String? {
        uri.queryParameters[Substring(name)].map(String.init)
    }
}
