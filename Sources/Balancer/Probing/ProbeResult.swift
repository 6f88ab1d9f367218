/// How one probe ended.
public enum ProbeResult: Sendable, Hashable {
    /// TCP probe: the connection opened.
    case connected
    /// HTTP probe: a response head with this status arrived.
    case status(Int)
    /// The connection was refused or could not be established.
    case connectFailure
    /// Nothing (or not enough) arrived within the probe's timeout.
    case timeout
    /// The connection broke or the answer was not HTTP.
    case failure
}
