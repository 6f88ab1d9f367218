import Balancer
import DNSWire

/// Picks upstream addresses and learns from outcomes; backed by a balancer ring in production.
///
/// Called on the client's event loop for every attempt, so implementations must be lock-free on the
/// read path (read a published ring reference; keep cursors per `loopIndex`).
public protocol AddressSelector: Sendable {
    /// The address for the next attempt, or nil when none is available (answered with a fast 503).
    /// `loopIndex` is the calling event loop's index in `0..<workers`, for per-loop cursors.
    func select(_ request: SelectionContext, loopIndex: Int) -> UpstreamPick?
    /// Every pick returned by `select` receives exactly one report, when that attempt ends:
    /// an outcome, or `.released` when the attempt ended without a verdict on the address.
    func report(_ pick: UpstreamPick, outcome: UpstreamOutcome)
}

/// One attempt's address, with the balancer's token when the selector is backed by a ring (the token
/// carries the in-flight slot handed back by `report`). A plain struct: selecting and reporting neither
/// allocate nor go through generic code on the request path.
public struct UpstreamPick: Sendable {
    public let address: Address
    /// The ring's pick; nil for selectors over a plain address list.
    public let token: Pick?
    /// Picked from a ring built on DNS answers served stale (the access log's DS flag).
    public var staleDNS: Bool { token?.staleDNS ?? false }

    public init(_ address: Address) {
        self.address = address
        self.token = nil
    }

    public init(_ token: Pick) {
        self.address = token.address
        self.token = token
    }
}

/// What a selector may use to pick: client address, hash key, and the addresses this request already tried.
public struct SelectionContext: Sendable {
    public var clientIP: IPAddress?
    public var hashKey: HashKey?
    /// Addresses already attempted for this request; a retry should avoid them when it can. Balancer picks
    /// exclude the last `ExcludedAddresses.capacity` of them: with more retries than that, the oldest may be
    /// tried again.
    public var tried: [Address]

    public init(clientIP: IPAddress?, hashKey: HashKey?, tried: [Address] = []) {
        self.clientIP = clientIP
        self.hashKey = hashKey
        self.tried = tried
    }
}

/// How one attempt on one address ended.
public enum UpstreamOutcome: Sendable, Hashable {
    /// A 1xx–3xx response arrived; latency is from sending the request to its response head.
    case success(latencyNanoseconds: Int64)
    /// A 4xx or 5xx response arrived (passed to the client as is); the upstream's health policy decides
    /// whether the status counts as a failure (Kong's `http_statuses`, 429, 500 and 503 by default).
    case httpStatus(Int, latencyNanoseconds: Int64)
    /// The TCP connection could not be established (refused, unreachable).
    case connectFailure
    /// Connect, read or write timeout.
    case timeout
    /// The connection broke or the upstream spoke invalid HTTP after connecting.
    case failure
    /// The attempt ended without a verdict on the address (the client went away first).
    case released
}
