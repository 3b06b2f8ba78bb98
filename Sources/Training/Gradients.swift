import Kernels
import Model

/// Gradient of an embedding table in which few rows are touched per step
/// (token embedding: ~1000 of 8000 rows; hashed sparse table: a few thousand
/// of 2¹⁷). Rows get a compact slot on first touch, in touch order, so a
/// merge of several workers' gradients is deterministic.
final class RowGradient {
    let tableRows: Int
    let width: Int
    private let slotOfRow: UnsafeMutablePointer<Int32>
    private(set) var touched: [Int32] = []
    private(set) var storage: UnsafeMutablePointer<Float>
    private var capacity: Int

    init(tableRows: Int, width: Int, initialCapacity: Int = 256) {
        self.tableRows = tableRows
        self.width = width
        slotOfRow = .allocate(capacity: max(tableRows, 1))
        slotOfRow.initialize(repeating: -1, count: max(tableRows, 1))
        capacity = max(initialCapacity, 16)
        storage = .allocate(capacity: capacity * width)
        touched.reserveCapacity(capacity)
    }

    deinit {
        slotOfRow.deallocate()
        storage.deallocate()
    }

    /// The gradient row of table row `r`, zero-initialised on first touch.
    /// The pointer is valid until the next call that touches a new row.
    @inline(__always)
    func row(_ r: Int) -> UnsafeMutablePointer<Float> {
        let slot = slotOfRow[r]
        if slot >= 0 { return storage + Int(slot) * width }
        return newRow(r)
    }

    private func newRow(_ r: Int) -> UnsafeMutablePointer<Float> {
        let slot = touched.count
        if slot == capacity {
            let bigger = UnsafeMutablePointer<Float>.allocate(capacity: 2 * capacity * width)
            bigger.update(from: storage, count: capacity * width)
            storage.deallocate()
            storage = bigger
            capacity *= 2
        }
        touched.append(Int32(r))
        slotOfRow[r] = Int32(slot)
        let p = storage + slot * width
        p.update(repeating: 0, count: width)
        return p
    }

    /// The slot of table row `r`, or -1 if untouched.
    @inline(__always)
    func slot(of r: Int) -> Int { Int(slotOfRow[r]) }

    /// Gradient row of slot `i` (`touched[i]` is its table row).
    @inline(__always)
    func slotRow(_ i: Int) -> UnsafeMutablePointer<Float> { storage + i * width }

    /// Forgets every touched row.
    func reset() {
        for r in touched { slotOfRow[Int(r)] = -1 }
        touched.removeAll(keepingCapacity: true)
    }

    /// Adds `other`'s rows into this gradient (rows new here get a slot in `other`'s order).
    func merge(from other: RowGradient) {
        for (i, r) in other.touched.enumerated() {
            add(other.slotRow(i), count: width, into: row(Int(r)))
        }
    }

    /// Σ g² over the touched rows.
    func sumOfSquaresTouched() -> Double {
        sumOfSquares(storage, count: touched.count * width)
    }

    /// Multiplies every touched row by `s`.
    func scale(by s: Float) {
        let n = touched.count * width
        for i in 0..<n { storage[i] *= s }
    }
}

/// One worker's gradients: a dense tensor for every parameter but the two
/// embedding tables (token, sparse), which are row-sparse.
final class Gradients {
    /// (name, gradient) for every dense parameter, in canonical order.
    let dense: [(name: String, tensor: Tensor)]
    let byName: [String: Tensor]
    let tokens: RowGradient
    let sparse: RowGradient?

    static let tokenName = "token_embedding.weight"
    static let sparseName = "sparse.embedding.weight"

    init(config: ClassifierConfig) {
        var dense: [(String, Tensor)] = []
        for (name, shape) in ClassifierWeights.parameterShapes(for: config) where name != Self.tokenName && name != Self.sparseName {
            dense.append((name, Tensor(shape: shape)))
        }
        self.dense = dense
        byName = Dictionary(uniqueKeysWithValues: dense)
        tokens = RowGradient(tableRows: config.encoder.vocabSize, width: config.encoder.dModel, initialCapacity: 1024)
        sparse = config.sparse.map { RowGradient(tableRows: $0.buckets, width: $0.width, initialCapacity: 4096) }
    }

    subscript(_ name: String) -> Tensor {
        guard let t = byName[name] else { preconditionFailure("no gradient named \(name)") }
        return t
    }

    func zero() {
        for (_, t) in dense { t.pointer.update(repeating: 0, count: t.count) }
        tokens.reset()
        sparse?.reset()
    }
}
