import CCrossSimKernels

/// The matrix product that computes each tile (`--gemm own|blas`): CrossSim's own packed GEMM
/// (cs_gemm_abt, built per vector level; the evaluation's first pass fused into its
/// micro-kernel, cs_gemm_abt_fused) or the BLAS's sgemm. Both accumulate in Float32, so both
/// are within the error bound the tie rule allows for (docs/definitions.md, Ranks), and either
/// gives every figure within docs/accuracy.md.
public enum GEMM: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case own, blas

    /// The own GEMM where the CPU runs the AVX2 or AVX-512 kernels, the BLAS on the baseline.
    /// Measured on the development VM (a Sapphire Rapids Xeon, OpenBLAS 0.3.21), whole
    /// evaluations with the defaults took, own over blas, 0.58–0.82 × the CPU time at D = 32
    /// (N = 65536), 0.89–0.95 × at D = 384 and 0.89–1.10 × at D = 768 with AVX-512, and with
    /// AVX2 (forced, Haswell's kernels), the operands packed once and the first pass not fused,
    /// medians of 0.85 ×, 0.90 × and 0.93 × at N = 16384 (README, "Own GEMM"). On the baseline
    /// (SSE2) the micro-kernel is slower than OpenBLAS's.
    public static let `default`: GEMM = cs_cpu_vector_level() >= 1 ? .own : .blas

    /// What `--help` says of the default.
    public static let defaultRule = "own with AVX2 or AVX-512, else blas"

    /// Whether the own GEMM does the evaluation's first pass in its micro-kernel
    /// (cs_gemm_abt_fused): with AVX-512; with AVX2 only where the pass holds a τ of the online
    /// fold. With AVX2 the fused tile (its epilogue out of line on the micro-tile's copy in L1)
    /// took 0.99–1.00 × the CPU time of the product followed by the tile pass at D = 384 and 768,
    /// and 1.09–1.22 × at D = 32 (`crosssim bench`, one thread); before the epilogue went out of
    /// line, it spilled the accumulators and took 1.05–1.09 ×. The online fold's tile pass stores
    /// the tile and reads it back: fused, whole one-thread runs at τ = 0.01 took 0.92 × the CPU
    /// time at D = 384 and 0.81 × at D = 32 (N = 65536), and with dot similarities 0.90 × at
    /// D = 384 (the least of 3–4 paired runs each, AVX2 forced on the development VM).
    public static func fusesEpilogue(withOnlineFold online: Bool) -> Bool {
        cs_cpu_vector_level() >= 2 || (online && cs_cpu_vector_level() >= 1)
    }

    public var description: String { rawValue }

    /// What `engine.backend` says: the BLAS and its kernels, or the own GEMM's vector level
    /// and micro-tile.
    public var backendName: String {
        switch self {
        case .blas: return BLAS.name
        case .own:
            let blocks = cs_gemm_blocks_for(1)
            let level = ["baseline", "avx2", "avx512"][Int(cs_cpu_vector_level())]
            return "crosssim gemm (\(level), \(blocks.mr)x\(blocks.nr))"
        }
    }

    /// Floats of workspace one worker needs for tiles of up to `rows`×`cols` at depth `dim`.
    package func workspaceFloats(rows: Int, cols: Int, dim: Int) -> Int {
        self == .own ? cs_gemm_workspace_floats(Int64(rows), Int64(cols), Int64(dim)) : 0
    }

    /// Floats that the own GEMM's packing of `rows` rows at depth `dim` takes (cs_gemm_pack).
    package static func packedFloats(rows: Int, dim: Int, _ operand: cs_gemm_operand) -> Int {
        cs_gemm_packed_floats(Int64(rows), Int64(dim), operand)
    }

    /// c[m×n, row stride ldc] = a[m×k]·b[n×k]ᵀ, with a and b rows of stride k; `workspace`
    /// holds `workspaceFloats` for the largest tile, or the own GEMM gets both operands
    /// `packed` (cs_gemm_pack; the BLAS reads a and b).
    package func multiplyTransposed(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, ldc: Int, workspace: UnsafeMutablePointer<Float>?, packed: cs_gemm_packed? = nil
    ) {
        switch self {
        case .blas: BLAS.multiplyTransposed(a, b, into: c, m: m, n: n, k: k, ldc: ldc)
        case .own:
            var packed = packed ?? cs_gemm_packed()
            cs_gemm_abt(a, b, c, Int64(m), Int64(n), Int64(k), Int64(ldc), workspace, &packed)
        }
    }

    /// The own GEMM's product of `tile`'s operands with `epilogue` fused into its micro-kernel
    /// (cs_gemm_abt_fused), into c = `tile.data` if `store`, else c only as the product's
    /// scratch.
    package static func multiplyFused(_ tile: cs_tile, store: Bool, workspace: UnsafeMutablePointer<Float>?,
                                      packed: cs_gemm_packed?, epilogue: cs_fused_epilogue) {
        var epilogue = epilogue
        var packed = packed ?? cs_gemm_packed()
        cs_gemm_abt_fused(tile, UnsafeMutablePointer(mutating: tile.data), store ? 1 : 0, workspace, &packed, &epilogue)
    }
}
