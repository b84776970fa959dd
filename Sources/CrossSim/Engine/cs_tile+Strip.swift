import CCrossSimKernels

extension cs_tile {
    /// Rows `first..<first + count` of the tile (clipped to its end), as a tile of their own:
    /// consumers cut tiles into strips that stay in L2 while every pass reads them.
    func strip(fromRow first: Int, count: Int) -> cs_tile {
        var strip = self
        strip.data = data + first * Int(ld)
        strip.a = a + first * Int(dim)
        strip.a_norms = a_norms + first
        strip.rows = min(Int64(count), rows - Int64(first))
        strip.row0 = row0 + Int64(first)
        return strip
    }
}
