import CCrossSimKernels
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// The one place CrossSim calls a BLAS: C = A·Bᵀ for row-major Float32 panels (the tiles),
/// and C += A·B in Float64 (the bootstrap's counts times per-query values).
public enum BLAS {
    /// The library and, for OpenBLAS, the kernel family it chose for this CPU.
    public static var name: String {
        #if canImport(Accelerate)
        return "accelerate"
        #else
        return "openblas (\(coreName))"
        #endif
    }

    /// c[m×n, row stride ldc] = a[m×k]·b[n×k]ᵀ, with a and b rows of stride k.
    package static func multiplyTransposed(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(k), b, Int32(k), 0, c, Int32(ldc))
    }

    /// c[m×n] += a[m×k]·b[k×n], row-major Float64 with rows of stride k, n and n.
    package static func multiplyAdd(
        _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, into c: UnsafeMutablePointer<Double>, m: Int, n: Int, k: Int
    ) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(k), b, Int32(n), 1, c, Int32(n))
    }

    /// Runs `body` with the BLAS on `threads` threads (1 inside the tile workers, which are the
    /// parallelism: a multi-threaded BLAS inside them was 17 % slower), then restores the
    /// caller's setting.
    package static func withThreads<T>(_ threads: Int, _ body: () throws -> T) rethrows -> T {
        #if canImport(Accelerate)
        return try body()
        #else
        let previous = openblas_get_num_threads()
        openblas_set_num_threads(Int32(threads))
        defer { openblas_set_num_threads(previous) }
        return try body()
        #endif
    }

    #if !canImport(Accelerate)
    static var coreName: String { String(cString: openblas_get_corename()) }
    #endif

    /// An `OPENBLAS_CORETYPE` that would serve this CPU better than the kernels OpenBLAS chose,
    /// or nil. OpenBLAS releases older than the CPU fall back to SSE3 kernels ("Prescott") on
    /// models they do not know, several times slower than the AVX2 or AVX-512 ones the CPU
    /// runs; OpenBLAS reads the variable only when it is loaded, so the command line re-runs
    /// itself with it set (see CrossSimCommand), and library users can set it themselves.
    public static func betterCoreType(environment: [String: String]) -> String? {
        #if canImport(Accelerate)
        return nil
        #else
        guard environment["OPENBLAS_CORETYPE"] == nil else { return nil }
        let preAVX2: Set = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Coppermine",
                            "Northwood", "Banias", "Barcelona", "Opteron", "Opteron(SSE3)", "Bobcat",
                            "Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator"]
        guard preAVX2.contains(coreName) else { return nil }
        switch cs_cpu_vector_level() {
        case 2: return "SkylakeX"
        case 1: return "Haswell"
        default: return nil
        }
        #endif
    }
}
