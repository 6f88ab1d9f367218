/// Why a DNS lookup did not produce records. One type for the module, so callers can keep the outcomes
/// that need different policies apart: a negative answer (`nxdomain`, `nodata`) is the server's word and is
/// held before it empties a pool; a failure (`timeout`, `servfail`, `refused`, `connectionRefused`,
/// `malformed`) keeps the last good answer in force.
public struct DiscoveryError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The name does not exist (RCODE 3).
        case nxdomain
        /// The name exists but has no records of the type asked for.
        case nodata
        /// The server failed to answer (RCODE 2).
        case servfail
        /// The server refused to answer (RCODE 5).
        case refused
        /// The server did not understand the query (RCODE 1) or does not implement it (RCODE 4).
        case formerr
        /// No answer arrived within the timeout, after every try.
        case timeout
        /// No server could be reached (ICMP unreachable, TCP connection refused after truncation).
        case connectionRefused
        /// The answer could not be parsed, or contradicts itself.
        case malformed
        /// The answer came back truncated even over TCP: it does not fit 65,535 bytes.
        case tooBig
        /// The name is not a valid DNS name.
        case badName
        /// The resolver was shut down before the answer arrived.
        case shutdown
        /// The resolver could not be set up (bad server list, resolv.conf unreadable).
        case configuration
        /// Anything c-ares reports that fits none of the above.
        case other
    }

    public let code: Code
    /// A sentence a person can act on.
    public let message: String
    /// For negative answers, the negative-caching TTL from the SOA record (RFC 2308), when the server sent one.
    public let negativeTTL: UInt32?

    public init(_ code: Code, _ message: String, negativeTTL: UInt32? = nil) {
        self.code = code
        self.message = message
        self.negativeTTL = negativeTTL
    }

    /// True for the server's authoritative "no such records" (NXDOMAIN, NODATA), as opposed to a failure.
    public var isNegativeAnswer: Bool { code == .nxdomain || code == .nodata }

    public var description: String { message }
}
