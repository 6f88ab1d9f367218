/// The ejections of one upstream's addresses over a recent window, for the dashboard's timeline, and how many
/// ejections each address has had since the node started, for `/metrics`.
///
/// Times are wall-clock seconds since 1970 (the page draws them against the browser's clock). Pure: the caller
/// passes the time, so the window and the cap are tested without waiting.
public struct EjectionHistory: Sendable, Equatable {
    public struct Ejection: Sendable, Equatable {
        public var address: Address
        public var start: Double
        /// When the address was restored; nil while it is still out.
        public var end: Double?
        /// Why it was ejected (the breaker's cause: connect failures, timeouts, probe failures, marked unhealthy).
        public var reason: String
    }

    /// How far back ejections are kept once they ended.
    public let window: Double
    /// At most this many are kept; the oldest ended ones go first.
    public let capacity: Int
    public private(set) var ejections: [Ejection] = []
    /// Ejections per address since the node started (monotonic).
    public private(set) var totals: [Address: Int] = [:]

    public init(window: Double = 600, capacity: Int = 1000) {
        self.window = window
        self.capacity = capacity
    }

    /// An ejection began. A second one of an address already out changes nothing (the first is still running).
    public mutating func ejected(_ address: Address, reason: String, at now: Double) {
        if ejections.contains(where: { $0.address == address && $0.end == nil }) { return }
        ejections.append(Ejection(address: address, start: now, end: nil, reason: reason))
        totals[address, default: 0] += 1
        trim(now: now)
    }

    /// The address is back in rotation.
    public mutating func restored(_ address: Address, at now: Double) {
        if let i = ejections.lastIndex(where: { $0.address == address && $0.end == nil }) {
            ejections[i].end = now
        }
        trim(now: now)
    }

    /// The address left the ring while out (DNS dropped it): its ejection ends here, saying so, so the timeline
    /// does not show it out for ever.
    public mutating func left(_ address: Address, at now: Double) {
        if let i = ejections.lastIndex(where: { $0.address == address && $0.end == nil }) {
            ejections[i].end = now
            ejections[i].reason += "; left DNS"
        }
        trim(now: now)
    }

    /// Ejections running now or ended within the window.
    public func recent(now: Double) -> [Ejection] {
        ejections.filter { ($0.end ?? now) >= now - window }
    }

    private mutating func trim(now: Double) {
        ejections.removeAll { ($0.end ?? now) < now - window }
        while ejections.count > capacity {
            if let i = ejections.firstIndex(where: { $0.end != nil }) {
                ejections.remove(at: i)
            } else {
                ejections.removeFirst()
            }
        }
    }
}
