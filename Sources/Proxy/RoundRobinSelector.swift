import Atomics
import Balancer
import DNSWire

/// Round robin over a fixed address list, with a cursor per event loop (no shared counter to contend on).
/// Retries skip addresses the request already tried while untried ones remain.
public final class RoundRobinSelector: AddressSelector {
    public let addresses: [Address]
    private let cursors: [ManagedAtomic<Int>]

    public init(addresses: [Address], loops: Int = 64) {
        self.addresses = addresses
        self.cursors = (0..<max(1, loops)).map { ManagedAtomic($0 * 7) }
    }

    public func select(_ request: SelectionContext, loopIndex: Int) -> UpstreamPick? {
        let count = addresses.count
        guard count > 0 else { return nil }
        let cursor = cursors[loopIndex % cursors.count]
        // Each cursor is written by one loop only, so relaxed ordering suffices.
        let start = Int(UInt(bitPattern: cursor.loadThenWrappingIncrement(ordering: .relaxed)) % UInt(count))
        if request.tried.isEmpty { return UpstreamPick(addresses[start]) }
        for offset in 0..<count {
            let candidate = addresses[(start + offset) % count]
            if !request.tried.contains(candidate) { return UpstreamPick(candidate) }
        }
        return UpstreamPick(addresses[start])
    }

    public func report(_ pick: UpstreamPick, outcome: UpstreamOutcome) {}
}
