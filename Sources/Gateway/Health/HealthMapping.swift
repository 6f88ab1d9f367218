import Balancer
import Config
import Proxy

/// Translates an upstream's `healthchecks` (Kong's shape plus Switchyard's ejection extensions) into
/// the monitor's policy.
enum HealthMapping {
    /// `tls` gives `https` probes their TLS settings; without it (tests of the mapping alone) they probe in
    /// plain text.
    static func policy(_ hc: Healthchecks, hostHeader: String?, tls: UpstreamTLSContexts? = nil) -> HealthPolicy {
        HealthPolicy(passive: passive(hc), active: active(hc, hostHeader: hostHeader, tls: tls))
    }

    static func passive(_ hc: Healthchecks) -> PassiveHealthSettings {
        let u = hc.passive.unhealthy
        // Kong's passive `type: tcp` counts only connection failures and timeouts.
        let httpFailures = hc.passive.type == .tcp ? 0 : u.httpFailures
        return PassiveHealthSettings(
            tcpFailures: u.tcpFailures, timeouts: u.timeouts, httpFailures: httpFailures,
            httpStatuses: Set(u.httpStatuses), successes: max(1, hc.passive.healthy.successes),
            baseEjectionTime: seconds(u.ejectionTime), maxEjectionTime: seconds(max(u.maxEjectionTime, u.ejectionTime)),
            maxEjectionPercent: Int(hc.maxEjectionPercent.rounded(.down)),
            panicThreshold: Int(hc.panicThreshold.rounded(.up)))
    }

    /// Nil when active probing is off. `Config` rejects probe types this build cannot send (gRPC), so only
    /// `http`, `https` and `tcp` reach here. An `https` probe verifies the certificate unless
    /// `https_verify_certificate` is false (Kong's default is true), with `https_sni` or else the Host the
    /// probe sends as the server name.
    static func active(_ hc: Healthchecks, hostHeader: String?, tls: UpstreamTLSContexts? = nil) -> ActiveProbes? {
        let a = hc.active
        guard a.isEnabled else { return nil }
        let kind: ProbeRequest.Kind
        switch a.type {
        case .tcp:
            kind = .tcp
        case .http, .https, .grpc, .grpcs:
            var headers: [(String, String)] = []
            var host = hostHeader
            for (name, values) in a.headers.sorted(by: { $0.key < $1.key }) {
                if name.lowercased() == "host", let first = values.first {
                    host = first
                    continue
                }
                for value in values { headers.append((name, value)) }
            }
            kind = .http(path: a.httpPath, host: host, headers: headers)
        }
        var probeTLS: UpstreamTLS? = nil
        if a.type == .https, let tls, case .http(_, let host, _) = kind {
            probeTLS = tls.tls(verify: a.httpsVerifyCertificate, hostHeader: a.httpsSNI ?? host ?? "")
        }
        return ActiveProbes(
            request: ProbeRequest(kind: kind, timeout: seconds(a.timeout), tls: probeTLS),
            schedule: ProbeSettings(
                concurrency: max(1, a.concurrency),
                healthyInterval: seconds(a.healthy.interval), unhealthyInterval: seconds(a.unhealthy.interval),
                healthyStatuses: Set(a.healthy.httpStatuses), unhealthyStatuses: Set(a.unhealthy.httpStatuses),
                successes: a.healthy.successes, tcpFailures: a.unhealthy.tcpFailures,
                timeouts: a.unhealthy.timeouts, httpFailures: a.unhealthy.httpFailures))
    }

    static func seconds(_ value: Double) -> Duration {
        .milliseconds(Int64((max(0, value) * 1000).rounded()))
    }
}
