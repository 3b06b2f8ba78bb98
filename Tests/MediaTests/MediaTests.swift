import Foundation
import Testing
import TestSupport
@testable import Media

@Suite struct ImageUploadTests {
    @Test func aJPEGLosesItsGPSAndCommentAndKeepsItsPicture() throws {
        let original = TestImages.greyJPEG(withGPS: true)
        let prepared = try ImageUpload.prepare(Data(original), declaredType: "image/jpeg")
        let stored = [UInt8](prepared.data)
        #expect(prepared.contentType == "image/jpeg")
        #expect(stored == TestImages.greyJPEG(withGPS: false), "exactly the file without its EXIF and comment segments")
        #expect(!stored.contains(0xE1) || stored.firstRange(of: Array("Exif".utf8)) == nil)
        #expect(stored.firstRange(of: Array("GPS".utf8)) == nil && stored.firstRange(of: Array("Maple".utf8)) == nil)
        let other = try ImageUpload.prepare(Data(TestImages.greyJPEG(withGPS: false) + [0]))
        #expect(prepared.sha256.count == 64 && prepared.sha256 != other.sha256)
    }

    @Test func aPNGLosesItsTextAndEXIFChunks() throws {
        let prepared = try ImageUpload.prepare(Data(TestImages.png(withMetadata: true)))
        #expect(prepared.contentType == "image/png")
        #expect([UInt8](prepared.data) == TestImages.png(withMetadata: false))
    }

    @Test func theTypeComesFromTheBytesNotTheLabel() throws {
        let script = Data("<script>alert(1)</script>".utf8)
        #expect(throws: ImageUploadError.notAnImage(declared: "image/jpeg")) { try ImageUpload.prepare(script, declaredType: "image/jpeg") }
        #expect(throws: ImageUploadError.notAnImage(declared: nil)) { try ImageUpload.prepare(Data()) }
        let webp = Data(Array("RIFF".utf8) + [0x24, 0, 0, 0] + Array("WEBPVP8 ".utf8))
        #expect(try ImageUpload.prepare(webp, declaredType: "image/png").contentType == "image/webp")
        let heic = Data([0, 0, 0, 0x18] + Array("ftypheic".utf8) + [0, 0, 0, 0])
        #expect(try ImageUpload.prepare(heic).contentType == "image/heic")
        // A JPEG whose segments run past its end is refused, not stored with its metadata.
        let truncated = Data(TestImages.greyJPEG(withGPS: true).prefix(40))
        #expect(throws: ImageUploadError.self) { try ImageUpload.prepare(truncated) }
    }

    @Test func tooLargeIsRefusedBeforeReading() {
        let big = Data(TestImages.greyJPEG(withGPS: false))
        #expect(throws: ImageUploadError.tooLarge(bytes: big.count, limit: 100)) { try ImageUpload.prepare(big, maxBytes: 100) }
    }
}
