#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// The one place CrossSim calls a BLAS: C = A·Bᵀ for row-major Float32 panels.
enum BLAS {
    #if canImport(Accelerate)
    static let name = "accelerate"
    #else
    static let name = "openblas"
    #endif

    /// c[m×n, row stride ldc] = a[m×k]·b[n×k]ᵀ, with a and b rows of stride k.
    static func multiplyTransposed(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(k), b, Int32(k), 0, c, Int32(ldc))
    }

    /// Runs `body` with the BLAS on one thread (the tile workers are the parallelism; a
    /// multi-threaded BLAS inside them was 17 % slower), then restores the caller's setting.
    static func singleThreaded<T>(_ body: () throws -> T) rethrows -> T {
        #if canImport(Accelerate)
        return try body()
        #else
        let previous = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(previous) }
        return try body()
        #endif
    }
}
