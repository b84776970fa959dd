extension ReducerSet {
    /// The figures of the main pass, in the order their passes run over a strip (the first
    /// reads it from memory, the rest from cache). A new figure adds its line here.
    static let registry: [any Reducer.Type] = [
        RankReducer.self,
        InfoNCEReducer.self,
        SigLIPReducer.self,
        HistogramReducer.self,
        CandidateListReducer<NearestNeighbors>.self,
        CandidateListReducer<BestNegatives>.self,
        CandidateListReducer<HubnessLists>.self,
        HardNegativeReducer.self,
    ]
}

extension PartialState {
    /// Every section a state can hold, in the order of state files and of the report: the
    /// main pass's, the sets' geometry (summed beside it) and uniformity (a pass of its own).
    static let sectionTypes: [any StateSection.Type] = ReducerSet.registry.map { $0.sectionType }
        + [SetGeometry.self, UniformitySums.self]

    /// The sections a run with `options` holds.
    static func sectionTypes(for options: EvaluationOptions) -> [any StateSection.Type] {
        sectionTypes.filter { $0.isAsked(by: options) }
    }
}
