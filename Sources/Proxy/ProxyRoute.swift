import Balancer
import DNSWire
import NIOCore
import NIOHTTP1

/// What one request needs from routing: where it goes and how it is rewritten.
///
/// Returned by value once per request, so fields are `Substring` (slices of the client's request or of
/// strings the router already holds): an unchanged path or host costs no copy.
public struct ProxyRoute: Sendable {
    /// Route name or id, for logs and error bodies.
    public var name: String
    /// Path and query sent upstream (`strip_path` and the service path already applied).
    public var upstreamTarget: Substring
    /// `Host` header sent upstream: the client's with `preserve_host`, else the service's host.
    public var hostHeader: Substring?
    /// Largest request body this route accepts (413 above it); nil uses `ProxyLimits.maxBodyBytes`.
    public var maxBodyBytes: Int64?
    /// Consistent-hashing key for the upstream's ring, when its algorithm hashes on something the request has.
    public var hashKey: HashKey?
    /// Where the request goes.
    public var service: ProxyService
    /// When set, the proxy answers this itself instead of relaying (a failed key check, an https-only
    /// route reached over http).
    public var refusal: Refusal?
    /// Lower-case names of request headers not to send upstream (e.g. a credential the route hides).
    public var removeHeaders: [String]
    /// Headers to add to the upstream request (e.g. the authenticated consumer).
    public var extraHeaders: [(name: String, value: String)]
    /// Headers to add to the upstream's final response (a generated consistent-hashing cookie).
    public var responseHeaders: [(name: String, value: String)]

    /// An answer the proxy gives itself: a status, a message for the JSON body, and extra headers.
    public struct Refusal: Sendable {
        public var status: Int
        public var message: String
        public var headers: [(name: String, value: String)]

        public init(status: Int, message: String, headers: [(name: String, value: String)] = []) {
            self.status = status
            self.message = message
            self.headers = headers
        }
    }

    public init(
        name: String,
        upstreamTarget: Substring,
        hostHeader: Substring? = nil,
        maxBodyBytes: Int64? = nil,
        hashKey: HashKey? = nil,
        service: ProxyService,
        refusal: Refusal? = nil,
        removeHeaders: [String] = [],
        extraHeaders: [(name: String, value: String)] = [],
        responseHeaders: [(name: String, value: String)] = []
    ) {
        self.responseHeaders = responseHeaders
        self.refusal = refusal
        self.removeHeaders = removeHeaders
        self.extraHeaders = extraHeaders
        self.name = name
        self.upstreamTarget = upstreamTarget
        self.hostHeader = hostHeader
        self.maxBodyBytes = maxBodyBytes
        self.hashKey = hashKey
        self.service = service
    }
}

/// Matches a request to a route. Called once per request on the client's event loop: it must not block.
public protocol ProxyRouter: Sendable {
    /// Nil answers 404 "no route matched". `https` tells whether the request arrived over TLS (route
    /// `protocols`, https-only redirects); `clientIP` is the connection's peer, for hashing on it.
    func route(method: HTTPMethod, host: Substring?, uri: Substring, headers: RequestHeaders, https: Bool, clientIP: IPAddress?) -> ProxyRoute?
}
