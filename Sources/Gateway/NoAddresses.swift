import Balancer
import Proxy

/// A selector with nothing to select: the service of routes the proxy answers itself.
struct NoAddresses: AddressSelector {
    func select(_ request: SelectionContext, loopIndex: Int) -> UpstreamPick? { nil }
    func report(_ pick: UpstreamPick, outcome: UpstreamOutcome) {}
}
