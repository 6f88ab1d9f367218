import Balancer
import Foundation
import Hummingbird

extension AdminAPI {
    /// `GET /metrics`: the node, every upstream address and every watched DNS name in Prometheus's text format,
    /// so the balancer's state can be scraped and alerted on instead of polled as JSON.
    func addMetricsRoute(_ router: Router<AdminRequestContext>) {
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: metrics().text)))
        }
    }

    func metrics() -> MetricsText {
        var m = MetricsText()
        let counters = runtime.counters()
        m.family("switchyard_connections_accepted_total", .counter, "Client connections accepted by the proxy.")
        m.family("switchyard_connections_active", .gauge, "Client connections open now.")
        m.family("switchyard_requests_total", .counter, "Requests the proxy received.")
        if let value = counters["connections_accepted"] { m.sample("switchyard_connections_accepted_total", value) }
        if let value = counters["connections_active"] { m.sample("switchyard_connections_active", value) }
        if let value = counters["total_requests"] { m.sample("switchyard_requests_total", value) }
        m.family("switchyard_dns_resolver_queries_total", .counter,
                 "DNS queries the resolver sent, for every watched name and every SRV target's addresses.")
        m.family("switchyard_dns_resolver_responses_total", .counter,
                 "How the resolver's queries ended: answer, negative (NXDOMAIN, NODATA) or failure.")
        if let value = counters["dns_queries"] { m.sample("switchyard_dns_resolver_queries_total", value) }
        for (outcome, key) in [("answer", "dns_answers"), ("negative", "dns_negative_answers"), ("failure", "dns_failures")] {
            if let value = counters[key] {
                m.sample("switchyard_dns_resolver_responses_total", value, labels: [("outcome", outcome)])
            }
        }
        m.family("switchyard_access_log_lines_total", .counter, "Access-log lines written, and dropped because the writer was behind.")
        for (outcome, key) in [("written", "access_log_lines"), ("dropped", "access_log_dropped")] {
            if let value = counters[key] {
                m.sample("switchyard_access_log_lines_total", value, labels: [("outcome", outcome)])
            }
        }
        let snapshot = store.snapshot
        m.family("switchyard_configuration_generation", .gauge, "Configuration version in force (database generation).")
        m.sample("switchyard_configuration_generation", snapshot.generation)
        m.family("switchyard_database_reachable", .gauge, "1 when the datastore answers.")
        m.sample("switchyard_database_reachable", store.isReachable ? 1 : 0)

        m.family("switchyard_upstream_address_available", .gauge,
                 "1 when the address takes traffic, 0 when ejected or marked unhealthy.")
        m.family("switchyard_upstream_address_ejected", .gauge, "1 while an ejection of the address runs.")
        m.family("switchyard_upstream_address_in_flight", .gauge, "Requests in progress on the address.")
        m.family("switchyard_upstream_address_requests_total", .counter, "Attempts that reached a verdict on the address.")
        m.family("switchyard_upstream_address_failures_total", .counter, "Failed attempts on the address, by kind.")
        let now = ContinuousClock.now
        for upstream in snapshot.config.upstreams.sorted(by: { $0.name < $1.name }) {
            guard let balancer = runtime.balancer(upstream.name) else { continue }
            for status in balancer.health.statuses() {
                let labels = [("upstream", upstream.name), ("address", status.address.description)]
                m.sample("switchyard_upstream_address_available", status.isAvailable ? 1 : 0, labels: labels)
                let ejected = status.ejection.map { $0.isActive && $0.until > now } ?? false
                m.sample("switchyard_upstream_address_ejected", ejected ? 1 : 0, labels: labels)
                m.sample("switchyard_upstream_address_in_flight", status.inFlight, labels: labels)
                m.sample("switchyard_upstream_address_requests_total", status.counters.totalRequests, labels: labels)
                for (kind, value) in [("connect", status.counters.connectFailures), ("timeout", status.counters.timeouts),
                                      ("http", status.counters.httpFailures)] {
                    m.sample("switchyard_upstream_address_failures_total", value, labels: labels + [("kind", kind)])
                }
            }
        }

        let notify = runtime.notify()
        if !notify.isEmpty {
            m.family("switchyard_dns_notify_total", .counter,
                     "DNS NOTIFY packets received, by result: accepted, or why refused or dropped.")
            for (result, value) in notify.sorted(by: { $0.key < $1.key }) where result != "refreshes" {
                m.sample("switchyard_dns_notify_total", value, labels: [("result", result)])
            }
            m.family("switchyard_dns_notify_refreshes_total", .counter,
                     "Zone refreshes NOTIFY started (at most one per zone per 100 ms).")
            m.sample("switchyard_dns_notify_refreshes_total", notify["refreshes", default: 0])
        }

        m.family("switchyard_dns_records", .gauge, "Records in force for a watched name.")
        m.family("switchyard_dns_fresh", .gauge,
                 "1 when the name's records were confirmed within their TTL, 0 when serving stale or held records.")
        m.family("switchyard_dns_queries_total", .counter, "Queries sent for the name.")
        m.family("switchyard_dns_refreshed_seconds_ago", .gauge, "Seconds since the records were last confirmed.")
        for name in runtime.dns().sorted(by: { $0.name < $1.name }) {
            let labels = [("name", name.name), ("type", name.kind)]
            m.sample("switchyard_dns_records", name.records.count, labels: labels)
            m.sample("switchyard_dns_fresh", name.status == "fresh" ? 1 : 0, labels: labels)
            m.sample("switchyard_dns_queries_total", name.queries, labels: labels)
            if let ago = name.refreshedAgo { m.sample("switchyard_dns_refreshed_seconds_ago", ago, labels: labels) }
        }
        return m
    }
}
