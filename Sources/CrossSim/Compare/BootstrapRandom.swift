import Foundation

/// The bootstrap's random numbers: SplitMix64 (Steele, Lea & Flood 2014), one stream per piece
/// of work, seeded by hashing the seed with the piece's coordinates (which resample, which
/// block of queries), so that every draw is the same whichever thread makes it.
package struct BootstrapRandom {
    private var state: UInt64

    package init(seed: UInt64, _ coordinates: UInt64...) {
        var state = Self.mix(seed &+ Self.increment)
        for c in coordinates { state = Self.mix(state ^ Self.mix(c &+ Self.increment)) }
        self.state = state
    }

    private static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always) private static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always) package mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.mix(state)
    }

    /// Uniform in [0, 1), 53 random bits.
    @inline(__always) package mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Adds `draws` uniform draws from 0..<bound (bound < 2³²) to `counts`, two from each 64
    /// random bits, without bias (Lemire 2019: a 32-bit half times the bound is a draw unless
    /// its low word falls below 2³² mod bound).
    package mutating func count(draws: Int, below bound: Int, into counts: UnsafeMutablePointer<UInt32>) {
        precondition(bound > 0 && bound < 1 << 32)
        let b = UInt64(bound), threshold = UInt32((1 << 32) % b)
        var left = draws
        while left > 0 {
            let bits = next()
            let high = (bits >> 32) &* b, low = (bits & 0xFFFF_FFFF) &* b
            if UInt32(truncatingIfNeeded: high) >= threshold {
                counts[Int(high >> 32)] += 1
                left -= 1
            }
            if left > 0 && UInt32(truncatingIfNeeded: low) >= threshold {
                counts[Int(low >> 32)] += 1
                left -= 1
            }
        }
    }

    /// A draw of Binomial(trials, probability): by inversion when the mean is small, else by
    /// Hörmann's transformed rejection with squeeze (BTRS; "The generation of binomial random
    /// variates", J. Statist. Comput. Simul. 46, 1993), exact up to rounding.
    package mutating func binomial(trials n: Int, probability p: Double) -> Int {
        guard n > 0, p > 0 else { return 0 }
        guard p < 1 else { return n }
        if p > 0.5 { return n - binomial(trials: n, probability: 1 - p) }
        let q = 1 - p, count = Double(n)
        if count * p < 10 {
            let s = p / q, a = (count + 1) * s, start = exp(count * log1p(-p))
            while true {
                var u = uniform(), r = start, x = 0
                while u > r && x < n {
                    u -= r
                    x += 1
                    r *= a / Double(x) - s
                }
                // Rounding can leave u above the whole mass: draw again.
                if u <= r { return x }
            }
        }
        let spq = (count * p * q).squareRoot()
        let b = 1.15 + 2.53 * spq
        let a = -0.0873 + 0.0248 * b + 0.01 * p
        let c = count * p + 0.5
        let acceptAtOnce = 0.92 - 4.2 / b
        let alpha = (2.83 + 5.1 / b) * spq
        let logRatio = log(p / q)
        let mode = floor((count + 1) * p)
        let h = Self.logFactorial(mode) + Self.logFactorial(count - mode)
        while true {
            let u = uniform() - 0.5, v = uniform()
            let us = 0.5 - abs(u)
            let k = floor((2 * a / us + b) * u + c)
            guard k >= 0 && k <= count else { continue }
            if us >= 0.07 && v <= acceptAtOnce { return Int(k) }
            let logV = log(v * alpha / (a / (us * us) + b))
            if logV <= h - Self.logFactorial(k) - Self.logFactorial(count - k) + (k - mode) * logRatio { return Int(k) }
        }
    }

    /// log(k!) for integral k ≥ 0: a table below 16, Stirling's series above (error < 1e-15
    /// relative); no libm lgamma, whose sign global is not thread-safe.
    static func logFactorial(_ k: Double) -> Double {
        if k < 16 { return smallLogFactorials[Int(k)] }
        let inverse = 1 / k, inverse2 = inverse * inverse
        return (k + 0.5) * log(k) - k + 0.918_938_533_204_672_7
            + inverse * (1.0 / 12 - inverse2 * (1.0 / 360 - inverse2 * (1.0 / 1260 - inverse2 / 1680)))
    }

    private static let smallLogFactorials: [Double] = (0..<16).map { k in (1..<max(k + 1, 1)).reduce(0.0) { $0 + log(Double($1)) } }
}
