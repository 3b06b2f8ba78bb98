import Crypto
import Foundation

/// An image a resident sent, checked and cleaned for storage.
public struct PreparedImage: Sendable, Equatable {
    /// The type its bytes show (`image/jpeg`, `image/png`, `image/webp`, `image/heic`).
    public var contentType: String
    /// The bytes to store: JPEG and PNG without their metadata.
    public var data: Data
    /// SHA-256 of `data`, lower-case hex.
    public var sha256: String
}

/// Why an upload was refused; `description` is for the log, the resident
/// gets the conversation's own words.
public enum ImageUploadError: Error, Equatable, CustomStringConvertible {
    /// Empty, or not an image type Concierge keeps (by its bytes, not its name).
    case notAnImage(declared: String?)
    case tooLarge(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .notAnImage(let declared): "not a JPEG, PNG, WebP or HEIC image (declared \(declared ?? "no type"))"
        case let .tooLarge(bytes, limit): "\(bytes) bytes, more than the \(limit)-byte limit"
        }
    }
}

/// Checks an uploaded image and prepares it for storage.
///
/// - The type is read from the magic bytes, never from the declared content
///   type or a file name: JPEG (`FF D8 FF`), PNG (its 8-byte signature),
///   WebP (`RIFF….WEBP`), HEIC (an ISO-BMFF `ftyp` box with brand `heic`,
///   `heix`, `mif1` or `msf1`). Anything else is refused.
/// - Larger than `maxBytes` is refused (before any parsing).
/// - JPEG: APPn segments other than JFIF's APP0 and the ICC profile (APP2),
///   and comments, are dropped (EXIF with GPS, XMP, IPTC). PNG: the `eXIf`,
///   `tEXt`, `zTXt`, `iTXt` and `tIME` chunks are dropped. The image data
///   itself is copied byte for byte, so the picture is unchanged. A file
///   whose structure cannot be followed is refused rather than stored with
///   its metadata.
public enum ImageUpload {
    /// The default size cap: 10 MiB.
    public static let defaultMaxBytes = 10 * 1024 * 1024

    public static func prepare(_ bytes: Data, declaredType: String? = nil, maxBytes: Int = defaultMaxBytes) throws -> PreparedImage {
        guard bytes.count <= maxBytes else { throw ImageUploadError.tooLarge(bytes: bytes.count, limit: maxBytes) }
        let input = [UInt8](bytes)
        let type: String
        let cleaned: [UInt8]
        switch ImageKind(sniffing: input) {
        case .jpeg?:
            type = "image/jpeg"
            guard let stripped = JPEGMetadata.strip(input) else { throw ImageUploadError.notAnImage(declared: declaredType) }
            cleaned = stripped
        case .png?:
            type = "image/png"
            guard let stripped = PNGMetadata.strip(input) else { throw ImageUploadError.notAnImage(declared: declaredType) }
            cleaned = stripped
        case .webp?:
            (type, cleaned) = ("image/webp", input)
        case .heic?:
            (type, cleaned) = ("image/heic", input)
        case nil:
            throw ImageUploadError.notAnImage(declared: declaredType)
        }
        let data = Data(cleaned)
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        return PreparedImage(contentType: type, data: data, sha256: digest)
    }
}

/// The image formats Concierge keeps, recognised by their first bytes.
enum ImageKind {
    case jpeg, png, webp, heic

    init?(sniffing bytes: [UInt8]) {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { self = .jpeg; return }
        if bytes.starts(with: PNGMetadata.signature) { self = .png; return }
        if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) {
            self = .webp; return
        }
        if bytes.count >= 12, Array(bytes[4..<8]) == Array("ftyp".utf8),
           ["heic", "heix", "mif1", "msf1"].contains(String(decoding: bytes[8..<12], as: UTF8.self)) {
            self = .heic; return
        }
        return nil
    }
}

/// JPEG segments: markers `FF xx`, most followed by a big-endian length that
/// counts itself; the entropy-coded data after SOS runs to the end.
enum JPEGMetadata {
    /// APP0 (JFIF) and APP2 (ICC colour profile) are kept: the picture looks
    /// the same. Every other APPn (APP1 EXIF/XMP, APP13 IPTC, …) and COM go.
    static func keeps(_ marker: UInt8) -> Bool {
        switch marker {
        case 0xE0, 0xE2: true
        case 0xE1, 0xE3...0xEF, 0xFE: false
        default: true
        }
    }

    /// The file without its metadata segments; nil when its structure is broken.
    static func strip(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = [0xFF, 0xD8]
        var index = 2
        while index + 4 <= bytes.count {
            guard bytes[index] == 0xFF else { return nil }
            let marker = bytes[index + 1]
            if marker == 0xFF { index += 1; continue }            // fill byte
            if marker == 0xD9 { out += [0xFF, 0xD9]; return out } // end of image
            let length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            let end = index + 2 + length
            guard length >= 2, end <= bytes.count else { return nil }
            if marker == 0xDA {                                   // start of scan: the rest is image data
                out += bytes[index...]
                return out
            }
            if keeps(marker) { out += bytes[index..<end] }
            index = end
        }
        return nil
    }
}

/// PNG chunks: length (4, big-endian), type (4), data, CRC (4).
enum PNGMetadata {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// Text, time and EXIF chunks: where cameras and editors put who, when and where.
    static let dropped: Set<String> = ["eXIf", "tEXt", "zTXt", "iTXt", "tIME"]

    /// The file without its metadata chunks; nil when its structure is broken.
    static func strip(_ bytes: [UInt8]) -> [UInt8]? {
        var out = signature
        var index = signature.count
        while index + 12 <= bytes.count {
            let length = bytes[index..<index + 4].reduce(0) { $0 << 8 | Int($1) }
            let end = index + 12 + length
            guard length >= 0, end <= bytes.count else { return nil }
            let type = String(decoding: bytes[index + 4..<index + 8], as: UTF8.self)
            if !dropped.contains(type) { out += bytes[index..<end] }
            if type == "IEND" { return out }
            index = end
        }
        return nil
    }
}
