import Foundation

/// Small images built byte by byte, so the tests show what is in them.
public enum TestImages {
    static func segment(_ marker: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let length = payload.count + 2
        return [0xFF, marker, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
    }

    /// A valid baseline JPEG: 8×8 pixels of mid grey (one DC-only block;
    /// one-code Huffman tables), optionally with an EXIF segment holding a
    /// GPS position and a comment.
    public static func greyJPEG(withGPS: Bool) -> [UInt8] {
        var bytes: [UInt8] = [0xFF, 0xD8]
        bytes += segment(0xE0, Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
        if withGPS {
            // TIFF header (big-endian), IFD0 with a GPSInfo pointer, the GPS IFD (N, W) and the place in text.
            let tiff: [UInt8] = Array("MM".utf8) + [0, 0x2A, 0, 0, 0, 8]
            let ifd0: [UInt8] = [0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]
            let gps: [UInt8] = [0, 2, 0, 1, 0, 2, 0, 0, 0, 2] + Array("N\0\0\0".utf8) + [0, 3, 0, 2, 0, 0, 0, 2]
                + Array("W\0\0\0".utf8) + [0, 0, 0, 0]
            bytes += segment(0xE1, Array("Exif\0\0".utf8) + tiff + ifd0 + gps + Array("GPS 49.2827N 123.1207W".utf8))
            bytes += segment(0xFE, Array("taken at 2150 Maple Court Lane".utf8))
        }
        bytes += segment(0xDB, [0x00] + Array(repeating: 1, count: 64))                 // quantisation: all ones
        bytes += segment(0xC0, [8, 0, 8, 0, 8, 1, 1, 0x11, 0])                          // 8×8, one component
        bytes += segment(0xC4, [0x00, 1] + Array(repeating: 0, count: 15) + [0x00])    // DC: "0" → category 0
        bytes += segment(0xC4, [0x10, 1] + Array(repeating: 0, count: 15) + [0x00])    // AC: "0" → end of block
        bytes += segment(0xDA, [1, 1, 0x00, 0, 63, 0])
        return bytes + [0x3F, 0xFF, 0xD9]                                               // "0" "0", padded with ones
    }

    /// A 1×1 PNG with a text chunk naming where it was taken and an eXIf chunk.
    public static func png(withMetadata: Bool) -> [UInt8] {
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let length = UInt32(data.count)
            return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
                + Array(type.utf8) + data + [0, 0, 0, 0]   // the CRC is not checked by the stripper
        }
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", [0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0])
        if withMetadata { bytes += chunk("tEXt", Array("Location\0Maple Court 4B".utf8)) + chunk("eXIf", Array("MM\0*GPS".utf8)) }
        return bytes + chunk("IDAT", [0x78, 0x9C, 0x63, 0x60, 0, 0, 0, 2, 0, 1]) + chunk("IEND", [])
    }
}

