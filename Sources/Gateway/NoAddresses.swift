import Balancer
import Proxy

/// A selector with nothing to select: the service of routes the proxy answers itself.
struct NoAddresses: AddressSelector {
    func select(_ request: SelectionContext, loopIndex: Int) -> Address? { nil }
    func report(_ pick: Address, outcome: UpstreamOutcome) {}
}
