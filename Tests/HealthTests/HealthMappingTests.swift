import Balancer
import Config
import Proxy
import Testing
@testable import Gateway

/// Kong's `healthchecks` (plus the ejection extensions) become the monitor's policy.
@Suite("Health settings mapping")
struct HealthMappingTests {
    func upstream(_ healthchecks: String) throws -> Upstream {
        let yaml = """
            _format_version: "3.0"
            upstreams:
              - name: u
                healthchecks: \(healthchecks)
            """
        return try #require(try DeclarativeConfig.parse(yaml).config.upstreams.first)
    }

    @Test("Kong's defaults: no passive thresholds, no probes, fail fast")
    func defaults() throws {
        let policy = HealthMapping.policy(try upstream("{}").healthchecks, hostHeader: nil)
        #expect(!policy.isPassiveEnabled && policy.active == nil)
        #expect(policy.passive.maxEjectionPercent == 100 && policy.passive.panicThreshold == 0)
        #expect(policy.passive.baseEjectionTime == .seconds(30) && policy.passive.maxEjectionTime == .seconds(300))
        #expect(policy.passive.httpStatuses == [429, 500, 503])
    }

    @Test("every passive and active field reaches the policy")
    func fields() throws {
        let u = try upstream("""
            {"max_ejection_percent": 50, "panic_threshold": 25, \
            "passive": {"healthy": {"successes": 2}, "unhealthy": {"tcp_failures": 3, "timeouts": 4, \
            "http_failures": 5, "http_statuses": [502], "ejection_time": 7, "max_ejection_time": 70}}, \
            "active": {"type": "http", "http_path": "/ping", "timeout": 0.5, "concurrency": 3, \
            "headers": {"x-probe": ["yes"]}, \
            "healthy": {"interval": 2, "successes": 3, "http_statuses": [200]}, \
            "unhealthy": {"interval": 1, "tcp_failures": 1, "timeouts": 2, "http_failures": 3, "http_statuses": [500]}}}
            """)
        let policy = HealthMapping.policy(u.healthchecks, hostHeader: "api.internal")
        let p = policy.passive
        #expect(p.tcpFailures == 3 && p.timeouts == 4 && p.httpFailures == 5 && p.httpStatuses == [502])
        #expect(p.successes == 2 && p.baseEjectionTime == .seconds(7) && p.maxEjectionTime == .seconds(70))
        #expect(p.maxEjectionPercent == 50 && p.panicThreshold == 25)
        #expect(UpstreamMapping.settings(u).panicThreshold == 25, "the ring applies the panic threshold")
        let a = try #require(policy.active)
        #expect(a.request == ProbeRequest(kind: .http(path: "/ping", host: "api.internal", headers: [("x-probe", "yes")]),
                                          timeout: .milliseconds(500)))
        let schedule = a.schedule
        #expect(schedule.concurrency == 3 && schedule.healthyInterval == .seconds(2) && schedule.unhealthyInterval == .seconds(1))
        #expect(schedule.successes == 3 && schedule.healthyStatuses == [200] && schedule.unhealthyStatuses == [500])
        #expect(schedule.tcpFailures == 1 && schedule.timeouts == 2 && schedule.httpFailures == 3)
        let tcp = HealthMapping.policy(try upstream(#"{"active": {"type": "tcp", "healthy": {"interval": 1}}}"#).healthchecks,
                                       hostHeader: nil)
        #expect(tcp.active?.request.kind == .tcp)
    }

    @Test("gRPC probes are refused with a clear error when probing is on, never ignored; HTTPS probes map")
    func unsupportedProbes() throws {
        let https = try upstream(#"{"active": {"type": "https", "https_sni": "api.internal", "healthy": {"interval": 5}}}"#)
        let contexts = try UpstreamTLSContexts(trustedCertificate: nil)
        let probe = HealthMapping.active(https.healthchecks, hostHeader: "other.internal", tls: contexts)
        #expect(probe?.request.tls?.serverName == "api.internal")
        #expect(probe?.request.tls?.verifies == true, "Kong verifies probe certificates by default")
        for type in ["grpc", "grpcs"] {
            do {
                _ = try upstream(#"{"active": {"type": "\#(type)", "healthy": {"interval": 5}}}"#)
                Issue.record("\(type) probes were accepted")
            } catch {
                #expect("\(error)".contains("\(type) probes are not supported"), "\(error)")
            }
        }
        // A Kong export with probing off may name any type.
        #expect(try upstream(#"{"active": {"type": "https"}}"#).healthchecks.active.type == .https)
    }
}
