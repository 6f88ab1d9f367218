/// What happened to one request sent to an address (or to one active probe). The circuit breaker
/// counts these; the latency algorithm learns from their latencies.
public enum Outcome: Sendable, Hashable {
    /// The exchange completed (any status the upstream does not count as a failure).
    case success(latency: Duration)
    /// The TCP (or TLS) connection could not be established.
    case connectFailure
    /// The upstream did not answer in time.
    case timeout
    /// An HTTP response arrived; whether its status is a failure is the health policy's call.
    case httpStatus(Int, latency: Duration)

    /// The latency measured, if the address answered.
    public var latency: Duration? {
        switch self {
        case .success(let l), .httpStatus(_, let l): return l
        case .connectFailure, .timeout: return nil
        }
    }
}
