/// A fixed-size buffer that workers write at disjoint indices while a run goes on: the
/// `@unchecked Sendable` box that lets `concurrentPerform` share it without copies or locks.
final class SharedBuffer<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    let count: Int

    init(repeating value: Element, count: Int) {
        self.count = count
        base = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
        base.initialize(repeating: value, count: count)
    }

    /// Room for `count` plain values that the caller writes before it reads any (a tile's
    /// scratch, which sgemm fills): no pass over the memory up front.
    init(uninitializedCount count: Int) where Element: BitwiseCopyable {
        self.count = count
        base = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
    }

    init(_ values: [Element]) {
        count = values.count
        base = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
        _ = UnsafeMutableBufferPointer(start: base, count: count).initialize(from: values)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    subscript(i: Int) -> Element {
        get { base[i] }
        set { base[i] = newValue }
    }

    var array: [Element] { Array(UnsafeBufferPointer(start: base, count: count)) }
}
