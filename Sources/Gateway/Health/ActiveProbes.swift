import Balancer
import Proxy

/// An upstream's active probes: what each probe sends (for the probe client, which knows sockets and TLS) and
/// when probes run and what their results add up to (for the pure scheduler in `Balancer`).
public struct ActiveProbes: Sendable, Hashable {
    public var request: ProbeRequest
    public var schedule: ProbeSettings

    public init(request: ProbeRequest, schedule: ProbeSettings) {
        self.request = request
        self.schedule = schedule
    }
}
