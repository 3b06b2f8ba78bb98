import Foundation
import Model

/// How the learning rate decays after the warm-up.
public enum LearningRateDecay: String, Codable, Equatable, Sendable {
    /// Linear from the peak down to `floor · peak` at the last step.
    case linear
    /// Half cosine from the peak down to `floor · peak` at the last step.
    case cosine
    /// Stays at the peak.
    case constant
}

/// Linear warm-up from 0 to the peak over `warmupSteps`, then `decay` to
/// `floorFraction · peak` at `totalSteps`.
public struct LearningRateSchedule: Equatable, Sendable {
    /// Steps of the linear warm-up from 0 to the peak.
    public var warmupSteps: Int
    /// All steps of the run (the decay reaches the floor here).
    public var totalSteps: Int
    /// Shape of the decay after the warm-up.
    public var decay: LearningRateDecay
    /// Final rate as a fraction of the peak.
    public var floorFraction: Float

    /// A schedule; `warmupSteps` is clamped to ≥ 0 and `totalSteps` to ≥ 1.
    public init(warmupSteps: Int, totalSteps: Int, decay: LearningRateDecay, floorFraction: Float = 0) {
        self.warmupSteps = max(0, warmupSteps)
        self.totalSteps = max(1, totalSteps)
        self.decay = decay
        self.floorFraction = floorFraction
    }

    /// Multiplier of the peak rate for step `step` (0-based).
    public func multiplier(at step: Int) -> Float {
        if step < warmupSteps { return Float(step + 1) / Float(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, max(0, Float(step - warmupSteps) / Float(span)))
        switch decay {
        case .constant: return 1
        case .linear: return floorFraction + (1 - floorFraction) * (1 - progress)
        case .cosine: return floorFraction + (1 - floorFraction) * 0.5 * (1 + Foundation.cos(Float.pi * progress))
        }
    }
}

/// One Adam moment pair for a tensor.
final class AdamState {
    let m: Tensor
    let v: Tensor
    init(like t: Tensor) {
        m = Tensor(shape: t.shape)
        v = Tensor(shape: t.shape)
    }
}

/// Per-step constants of the Adam update.
struct AdamStep {
    var learningRate: Float
    var weightDecay: Float
    var beta1: Float
    var beta2: Float
    var epsilon: Float
    /// Multiplies every gradient (global-norm clipping).
    var gradientScale: Float
    /// 1 − β₁ᵗ, 1 − β₂ᵗ for the step count t the update belongs to.
    var biasCorrection1: Float
    var biasCorrection2: Float

    /// AdamW (decoupled weight decay, PyTorch's `torch.optim.AdamW` update):
    ///
    ///     p ← p·(1 − lr·wd);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
    ///     p ← p − (lr / bc₁) · m / (√v / √bc₂ + ε)
    ///
    /// over `count` floats; `g == nil` means a zero gradient (dense update of an untouched row).
    @inline(__always)
    func update(_ p: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
                _ g: UnsafePointer<Float>?, count: Int, decay: Bool) {
        let b1 = SIMD8<Float>(repeating: beta1), b2 = SIMD8<Float>(repeating: beta2)
        let ob1 = SIMD8<Float>(repeating: 1 - beta1), ob2 = SIMD8<Float>(repeating: 1 - beta2)
        let gs = SIMD8<Float>(repeating: gradientScale)
        let stepSize = SIMD8<Float>(repeating: learningRate / biasCorrection1)
        let invSqrtBC2 = SIMD8<Float>(repeating: 1 / biasCorrection2.squareRoot())
        let eps = SIMD8<Float>(repeating: epsilon)
        let shrink = SIMD8<Float>(repeating: decay ? 1 - learningRate * weightDecay : 1)
        var i = 0
        while i + 8 <= count {
            let gv = g.map { ld8($0 + i) * gs } ?? SIMD8<Float>()
            let mv = b1 * ld8(m + i) + ob1 * gv
            let vv = b2 * ld8(v + i) + ob2 * gv * gv
            st8(mv, m + i)
            st8(vv, v + i)
            let pv = ld8(p + i) * shrink - stepSize * mv / (vv.squareRoot() * invSqrtBC2 + eps)
            st8(pv, p + i)
            i += 8
        }
        while i < count {
            let gv = (g?[i] ?? 0) * gradientScale
            let mv = beta1 * m[i] + (1 - beta1) * gv
            let vv = beta2 * v[i] + (1 - beta2) * gv * gv
            m[i] = mv
            v[i] = vv
            p[i] = p[i] * shrink[0] - stepSize[0] * mv / (vv.squareRoot() * invSqrtBC2[0] + epsilon)
            i += 1
        }
    }
}
