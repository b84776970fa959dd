extension ReducerSet {
    /// The figures of the main pass, in the order their passes run over a strip (the first
    /// reads it from memory, the rest from cache). A new figure adds its line here.
    static let registry: [any Reducer.Type] = [
        RankReducer.self,
        InfoNCEReducer.self,
        SigLIPReducer.self,
        HistogramReducer.self,
        TopKReducer.self,
    ]
}
