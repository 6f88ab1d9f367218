import Balancer
import DNSWire

/// Picks upstream addresses and learns from outcomes; backed by a balancer ring in production.
///
/// Called on the client's event loop for every attempt, so implementations must be lock-free on the
/// read path (read a published ring reference; keep cursors per `loopIndex`).
public protocol AddressSelector: Sendable {
    /// What `select` hands out: an `Address`, or a token that also carries the in-flight slot
    /// (`Balancer.Pick`). Both are stored without allocation; other types are boxed.
    associatedtype Pick: PickedAddress

    /// The address for the next attempt, or nil when none is available (answered with a fast 503).
    /// `loopIndex` is the calling event loop's index in `0..<workers`, for per-loop cursors.
    func select(_ request: SelectionContext, loopIndex: Int) -> Pick?
    /// Every pick returned by `select` receives exactly one report, when that attempt ends:
    /// an outcome, or `.released` when the attempt ended without a verdict on the address.
    func report(_ pick: Pick, outcome: UpstreamOutcome)
}

/// A selection result that names the address to connect to.
public protocol PickedAddress: Sendable {
    var address: Address { get }
}

extension Address: PickedAddress {
    public var address: Address { self }
}

extension Pick: PickedAddress {}

/// What a selector may use to pick: client address, hash key, and the addresses this request already tried.
public struct SelectionContext: Sendable {
    public var clientIP: IPAddress?
    public var hashKey: Substring?
    /// Addresses already attempted for this request; a retry should avoid them when it can.
    public var tried: [Address]

    public init(clientIP: IPAddress?, hashKey: Substring?, tried: [Address] = []) {
        self.clientIP = clientIP
        self.hashKey = hashKey
        self.tried = tried
    }
}

/// How one attempt on one address ended.
public enum UpstreamOutcome: Sendable, Hashable {
    /// A response below 500 arrived; latency is from sending the request to its response head.
    case success(latencyNanoseconds: Int64)
    /// A 5xx response arrived (passed to the client as is).
    case httpStatus(Int)
    /// The TCP connection could not be established (refused, unreachable).
    case connectFailure
    /// Connect, read or write timeout.
    case timeout
    /// The connection broke or the upstream spoke invalid HTTP after connecting.
    case failure
    /// The attempt ended without a verdict on the address (the client went away first).
    case released
}
