import ArgumentParser
import CrossSim

/// `--similarity cosine|dot` on `eval` and `heatmap`.
extension Similarity: ExpressibleByArgument {}
