/// Byte ranges of header lines to leave out when relaying a head. Holds two inline, so the usual
/// case (one `Connection` or `Keep-Alive` line) allocates nothing.
struct LineRanges {
    private(set) var count = 0
    private var first: Range<Int> = 0..<0
    private var second: Range<Int> = 0..<0
    private var more: [Range<Int>] = []

    var isEmpty: Bool { count == 0 }

    mutating func append(_ range: Range<Int>) {
        switch count {
        case 0: first = range
        case 1: second = range
        default: more.append(range)
        }
        count += 1
    }

    /// The ranges in stream order.
    var sorted: [Range<Int>] {
        var all: [Range<Int>] = []
        all.reserveCapacity(count)
        if count > 0 { all.append(first) }
        if count > 1 { all.append(second) }
        all.append(contentsOf: more)
        return all.sorted { $0.lowerBound < $1.lowerBound }
    }

    /// Calls `body` with each range in stream order, without allocating for up to two ranges.
    func forEachInOrder(_ body: (Range<Int>) -> Void) {
        switch count {
        case 0:
            return
        case 1:
            body(first)
        case 2:
            if first.lowerBound <= second.lowerBound {
                body(first)
                body(second)
            } else {
                body(second)
                body(first)
            }
        default:
            for range in sorted { body(range) }
        }
    }
}
