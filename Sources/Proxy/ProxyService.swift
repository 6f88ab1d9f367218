import NIOCore

/// A destination shared by routes: its timeouts, retry budget and the addresses to pick from.
///
/// A class so a route carries one reference instead of copying the settings for every request.
public final class ProxyService: Sendable {
    public let name: String
    /// Time allowed to establish a TCP connection to one address.
    public let connectTimeout: TimeAmount
    /// Longest silence allowed while waiting for response bytes, once the request was sent.
    public let readTimeout: TimeAmount
    /// Longest time the upstream may refuse to accept request bytes.
    public let writeTimeout: TimeAmount
    /// Extra attempts after the first one fails (Kong's default is 5).
    public let retries: Int
    /// Picks the address for each attempt and hears how it went.
    public let selector: any AddressSelector
    /// TLS towards the upstream (`protocol: https`); nil speaks plain HTTP.
    public let tls: UpstreamTLS?
    /// The upstream the addresses come from (its name, or the service's `host:port`), for the access log.
    public let upstream: String?

    public init(
        name: String,
        connectTimeout: TimeAmount = .seconds(60),
        readTimeout: TimeAmount = .seconds(60),
        writeTimeout: TimeAmount = .seconds(60),
        retries: Int = 5,
        selector: any AddressSelector,
        tls: UpstreamTLS? = nil,
        upstream: String? = nil
    ) {
        self.name = name
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.writeTimeout = writeTimeout
        self.retries = max(0, retries)
        self.selector = selector
        self.tls = tls
        self.upstream = upstream
    }
}
