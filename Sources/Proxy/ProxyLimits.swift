import NIOCore

/// Limits that protect the proxy from hostile or broken clients.
public struct ProxyLimits: Sendable, Hashable {
    /// Bytes allowed for all header fields (431 above it); the request line may add `maxURILength`.
    public var maxHeaderBytes: Int
    /// Number of header fields allowed (431 above it).
    public var maxHeaderCount: Int
    /// Bytes allowed for the request target (414 above it).
    public var maxURILength: Int
    /// Default request body limit for routes that set none (413 above it).
    public var maxBodyBytes: Int64
    /// Time allowed to receive a complete request head once it started (408 and close, against slowloris).
    public var headerReadTimeout: TimeAmount
    /// Longest pause allowed while a request body is arriving (408 and close, against slow uploads).
    public var bodyReadTimeout: TimeAmount
    /// How long an idle client keep-alive connection is kept open between requests.
    public var clientIdleTimeout: TimeAmount
    /// Longest time a closing connection keeps reading and dropping what the client still sends, so the close is
    /// not a reset that could destroy the last answer (nginx's `lingering_time`).
    public var lingerTime: TimeAmount

    public init(
        maxHeaderBytes: Int = 32 * 1024,
        maxHeaderCount: Int = 100,
        maxURILength: Int = 8 * 1024,
        maxBodyBytes: Int64 = Int64.max,
        headerReadTimeout: TimeAmount = .seconds(10),
        bodyReadTimeout: TimeAmount = .seconds(60),
        clientIdleTimeout: TimeAmount = .seconds(60),
        lingerTime: TimeAmount = .seconds(5)
    ) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxURILength = maxURILength
        self.maxBodyBytes = maxBodyBytes
        self.headerReadTimeout = headerReadTimeout
        self.bodyReadTimeout = bodyReadTimeout
        self.clientIdleTimeout = clientIdleTimeout
        self.lingerTime = lingerTime
    }
}
