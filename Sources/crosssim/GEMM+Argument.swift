import ArgumentParser
import CrossSim

/// `--gemm own|blas` on `eval` and `bench`.
extension GEMM: ExpressibleByArgument {}
