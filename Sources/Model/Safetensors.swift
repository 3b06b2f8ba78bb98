import Foundation

/// Why a checkpoint could not be read. Every case names the problem in plain
/// words (see `description`); loading never crashes on a bad file.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    /// The file ends before the header or the tensor data it announces.
    case truncated(needed: Int, fileSize: Int)
    /// The 8-byte header length points outside the file.
    case headerOutOfBounds(headerLength: UInt64, fileSize: Int)
    case invalidHeader(String)
    case missingMetadata(key: String)
    case unsupportedFormatVersion(found: String, supported: [String])
    case invalidConfig(String)
    case invalidLabels(String)
    case vocabHashMismatch(expected: String, found: String)
    case missingTensor(name: String)
    case unexpectedTensor(name: String)
    case wrongShape(name: String, expected: [Int], found: [Int])
    case wrongDtype(name: String, found: String)
    case tensorOutOfBounds(name: String, begin: Int, end: Int, dataSize: Int)
    case nonFiniteWeights(name: String)
    /// The file holds another kind of model (e.g. a bare encoder where a classifier was expected).
    case wrongModelType(expected: String, found: String)
    /// A metadata entry is present but does not parse.
    case invalidMetadata(key: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read checkpoint \(path): \(reason)"
        case let .truncated(needed, size):
            return "checkpoint is truncated: needs at least \(needed) bytes but the file has \(size)"
        case let .headerOutOfBounds(len, size):
            return "checkpoint header length \(len) points past the end of the \(size)-byte file (truncated or not a safetensors file)"
        case let .invalidHeader(why): return "checkpoint header is not valid safetensors JSON: \(why)"
        case let .missingMetadata(key): return "checkpoint metadata lacks '\(key)'"
        case let .unsupportedFormatVersion(found, supported):
            return "checkpoint format version '\(found)' is not supported (this build reads \(supported.joined(separator: ", ")))"
        case let .invalidConfig(why): return "checkpoint config is invalid: \(why)"
        case let .invalidLabels(why): return "checkpoint label maps are invalid: \(why)"
        case let .vocabHashMismatch(expected, found):
            return "checkpoint was trained with a different vocabulary (vocab hash \(found), expected \(expected)); retrain or use the matching vocabulary"
        case let .missingTensor(name): return "checkpoint lacks tensor '\(name)'"
        case let .unexpectedTensor(name): return "checkpoint has tensor '\(name)', which this model does not use (architecture mismatch)"
        case let .wrongShape(name, expected, found):
            return "tensor '\(name)' has shape \(found), expected \(expected)"
        case let .wrongDtype(name, found): return "tensor '\(name)' has dtype \(found); only F32 is supported"
        case let .tensorOutOfBounds(name, begin, end, size):
            return "tensor '\(name)' data [\(begin), \(end)) lies outside the \(size)-byte data section (truncated file?)"
        case let .nonFiniteWeights(name): return "tensor '\(name)' contains NaN or infinity"
        case let .wrongModelType(expected, found):
            return "checkpoint holds a '\(found)' model, expected '\(expected)'"
        case let .invalidMetadata(key, reason): return "checkpoint metadata '\(key)' is invalid: \(reason)"
        }
    }
}

/// Minimal safetensors codec (https://github.com/huggingface/safetensors format):
/// 8-byte little-endian header length N, N bytes of JSON header
/// `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`,
/// then the raw little-endian tensor bytes (offsets relative to the data start).
/// Only F32 tensors are read or written.
public enum Safetensors {
    public struct Entry: Equatable {
        public var dtype: String
        public var shape: [Int]
        public var begin: Int
        public var end: Int
    }

    /// The parsed header plus the file bytes; ``tensor(_:)`` copies one tensor out.
    public struct File {
        public let metadata: [String: String]
        public let entries: [String: Entry]
        let data: Data
        let dataStart: Int

        /// Parses and bounds-checks the header (every tensor's byte range is
        /// checked against the file, its size against its shape and dtype).
        public init(data: Data) throws {
            self.data = data
            guard data.count >= 8 else { throw CheckpointError.truncated(needed: 8, fileSize: data.count) }
            var headerLength: UInt64 = 0
            for i in 0..<8 { headerLength |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
            guard headerLength <= UInt64(data.count - 8) else {
                throw CheckpointError.headerOutOfBounds(headerLength: headerLength, fileSize: data.count)
            }
            dataStart = 8 + Int(headerLength)
            let headerBytes = data[(data.startIndex + 8)..<(data.startIndex + dataStart)]
            let json: Any
            do { json = try JSONSerialization.jsonObject(with: headerBytes) } catch {
                throw CheckpointError.invalidHeader("JSON does not parse (\(error.localizedDescription))")
            }
            guard let object = json as? [String: Any] else { throw CheckpointError.invalidHeader("top level is not an object") }
            var metadata: [String: String] = [:]
            var entries: [String: Entry] = [:]
            let dataSize = data.count - dataStart
            for (name, value) in object {
                if name == "__metadata__" {
                    guard let m = value as? [String: Any] else { throw CheckpointError.invalidHeader("__metadata__ is not an object") }
                    for (k, v) in m {
                        guard let s = v as? String else { throw CheckpointError.invalidHeader("metadata '\(k)' is not a string") }
                        metadata[k] = s
                    }
                    continue
                }
                guard let info = value as? [String: Any],
                      let dtype = info["dtype"] as? String,
                      let shapeAny = info["shape"] as? [Any],
                      let offsetsAny = info["data_offsets"] as? [Any], offsetsAny.count == 2
                else { throw CheckpointError.invalidHeader("entry '\(name)' lacks dtype, shape or data_offsets") }
                let shape = try shapeAny.map { v -> Int in
                    guard let n = (v as? NSNumber)?.intValue, n >= 0, n <= Int(Int32.max) else {
                        throw CheckpointError.invalidHeader("entry '\(name)' has an invalid shape")
                    }
                    return n
                }
                let offsets = try offsetsAny.map { v -> Int in
                    guard let n = (v as? NSNumber)?.int64Value, n >= 0, n <= Int64(Int.max / 2) else {
                        throw CheckpointError.invalidHeader("entry '\(name)' has invalid data_offsets")
                    }
                    return Int(n)
                }
                let (begin, end) = (offsets[0], offsets[1])
                guard begin <= end else {
                    throw CheckpointError.tensorOutOfBounds(name: name, begin: begin, end: end, dataSize: dataSize)
                }
                guard end <= dataSize else {
                    // The header announces more data than the file holds.
                    throw CheckpointError.truncated(needed: dataStart + end, fileSize: data.count)
                }
                let elements = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
                let width: Int? = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1][dtype]
                if let width, elements != Int.max, elements * width != end - begin {
                    throw CheckpointError.invalidHeader(
                        "entry '\(name)' spans \(end - begin) bytes but shape \(shape) of \(dtype) needs \(elements * width)")
                }
                entries[name] = Entry(dtype: dtype, shape: shape, begin: begin, end: end)
            }
            self.metadata = metadata
            self.entries = entries
        }

        /// Copies an F32 tensor out of the file (little-endian → host order).
        public func tensor(_ name: String) throws -> Tensor {
            guard let e = entries[name] else { throw CheckpointError.missingTensor(name: name) }
            guard e.dtype == "F32" else { throw CheckpointError.wrongDtype(name: name, found: e.dtype) }
            let t = Tensor(shape: e.shape)
            data.withUnsafeBytes { raw in
                let src = raw.baseAddress! + dataStart + e.begin
                UnsafeMutableRawPointer(t.pointer).copyMemory(from: src, byteCount: e.end - e.begin)
            }
            #if _endian(big)
            for i in 0..<t.count { t[i] = Float(bitPattern: UInt32(littleEndian: t[i].bitPattern)) }
            #endif
            return t
        }
    }

    /// Serialises F32 tensors (names sorted, data 8-byte aligned like the
    /// reference implementation) with string metadata.
    public static func encode(tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) throws -> Data {
        let sorted = tensors.sorted { $0.name < $1.name }
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for (name, t) in sorted {
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.count * 4]] as [String: Any]
            offset += t.count * 4
        }
        var headerData = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + headerData.count) % 8 != 0 { headerData.append(0x20) }
        var out = Data(capacity: 8 + headerData.count + offset)
        var n = UInt64(headerData.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(headerData)
        for (_, t) in sorted {
            #if _endian(big)
            for i in 0..<t.count { var v = t[i].bitPattern.littleEndian; withUnsafeBytes(of: &v) { out.append(contentsOf: $0) } }
            #else
            out.append(UnsafeBufferPointer(start: t.pointer, count: t.count))
            #endif
        }
        return out
    }
}
