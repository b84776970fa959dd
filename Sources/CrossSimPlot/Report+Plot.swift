import CrossSim

extension Report {
    /// Writes the JSON report and the summary page, each atomically, where paths are given.
    public func write(json: String?, plot: String?) throws {
        try write(json: json)
        if let plot { try AtomicFile.write(SummaryPlot.svg(self), to: plot) }
    }
}
