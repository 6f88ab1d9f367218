/// Builds the smooth weighted round-robin sequence a tier is picked from.
///
/// Each member `i` with quota `q_i` occupies the slots whose deadlines `(2k + 1) / (2 q_i)` come first
/// (earliest deadline first, Webster's apportionment order), with members of equal quota starting at
/// staggered phases. Over any prefix every member's count stays within two of its exact share, so
/// no address gets a burst its weight does not call for, and none is starved for long. Building is O(L log n); picking is one array
/// read at a per-event-loop cursor.
enum SmoothSchedule {
    /// Quotas are the weights divided by their gcd; when their sum exceeds `maxLength` they are
    /// scaled down proportionally (at least 1 each), which keeps every share within `n / maxLength`.
    static func build(weights: [UInt32], maxLength: Int) -> ContiguousArray<UInt32> {
        let n = weights.count
        guard n > 0 else { return [] }
        var g: UInt64 = 0
        for w in weights { g = gcd(g, UInt64(w)) }
        if g == 0 { g = 1 }
        var quotas = weights.map { max(1, UInt64($0) / g) }
        var total = quotas.reduce(0, +)
        let limit = UInt64(max(maxLength, n))
        if total > limit {
            let original = total
            quotas = quotas.map { max(1, ($0 * limit + original / 2) / original) }
            total = quotas.reduce(0, +)
        }
        // Members of equal quota start at staggered phases (the j-th of m starts at (j + 1/2) / m of
        // its period), so that light members do not all fall due at once and leave a long gap.
        var phase = [UInt64](repeating: 0, count: n)   // 2j + 1
        var groupSize = [UInt64](repeating: 1, count: n)   // m
        var seen: [UInt64: [Int]] = [:]
        for (i, q) in quotas.enumerated() { seen[q, default: []].append(i) }
        for (_, members) in seen {
            for (j, i) in members.enumerated() {
                phase[i] = 2 * UInt64(j) + 1
                groupSize[i] = UInt64(members.count)
            }
        }
        // Min-heap of members keyed by the deadline of their next slot:
        // (2 m k + 2 j + 1) / (2 m q), compared by cross-multiplication in 128 bits.
        var next = [UInt64](repeating: 0, count: n)  // k: slots already given
        var heap = Array(0..<n)
        @inline(__always) func before(_ a: Int, _ b: Int) -> Bool {
            let lhs = (2 * groupSize[a] * next[a] + phase[a]).multipliedFullWidth(by: groupSize[b] * quotas[b])
            let rhs = (2 * groupSize[b] * next[b] + phase[b]).multipliedFullWidth(by: groupSize[a] * quotas[a])
            if lhs.high != rhs.high { return lhs.high < rhs.high }
            if lhs.low != rhs.low { return lhs.low < rhs.low }
            if quotas[a] != quotas[b] { return quotas[a] < quotas[b] }
            return a < b
        }
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && before(heap[l], heap[m]) { m = l }
                if r < n && before(heap[r], heap[m]) { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        for i in stride(from: n / 2 - 1, through: 0, by: -1) { siftDown(i) }
        var out = ContiguousArray<UInt32>()
        out.reserveCapacity(Int(total))
        for _ in 0..<total {
            let top = heap[0]
            out.append(UInt32(top))
            next[top] += 1
            siftDown(0)
        }
        return out
    }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
