import Balancer
import Foundation
import Hummingbird
import Prometheus

extension AdminAPI {
    /// `GET /metrics`: the node, every upstream address and every watched DNS name in Prometheus's text format,
    /// so the balancer's state can be scraped and alerted on instead of polled as JSON; then the proxy's request
    /// series (counts and latency histograms).
    func addMetricsRoute(_ router: Router<AdminRequestContext>) {
        router.get("/metrics") { _, _ in
            var bytes = stateMetrics().emitToBuffer()
            runtime.requestMetrics?(&bytes)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    /// The node's state as of now, in a registry made for this scrape: an address or name that is gone is simply
    /// not in the next one. Totals kept elsewhere (DNS queries, health counters) are counters set to their value.
    func stateMetrics() -> PrometheusCollectorRegistry {
        let r = PrometheusCollectorRegistry()
        func counter(_ name: String, _ help: String, _ value: Int, _ labels: [(String, String)] = []) {
            r.makeCounter(descriptor: .switchyard(name, help: help), labels: labels).increment(by: Int64(max(0, value)))
        }
        func gauge(_ name: String, _ help: String, _ value: Double, _ labels: [(String, String)] = []) {
            r.makeGauge(descriptor: .switchyard(name, help: help), labels: labels).set(value)
        }
        let counters = runtime.counters()
        if let value = counters["connections_accepted"] {
            counter("connections_accepted_total", "Client connections accepted by the proxy.", value)
        }
        if let value = counters["connections_active"] {
            gauge("connections_active", "Client connections open now.", Double(value))
        }
        if let value = counters["total_requests"] { counter("requests_total", "Requests the proxy received.", value) }
        if let value = counters["dns_queries"] {
            counter("dns_resolver_queries_total",
                    "DNS queries the resolver sent, for every watched name and every SRV target's addresses.", value)
        }
        for (outcome, key) in [("answer", "dns_answers"), ("negative", "dns_negative_answers"), ("failure", "dns_failures")] {
            if let value = counters[key] {
                counter("dns_resolver_responses_total",
                        "How the resolver's queries ended: answer, negative (NXDOMAIN, NODATA) or failure.",
                        value, [("outcome", outcome)])
            }
        }
        for (outcome, key) in [("written", "access_log_lines"), ("dropped", "access_log_dropped")] {
            if let value = counters[key] {
                counter("access_log_lines_total", "Access-log lines written, and dropped because the writer was behind.",
                        value, [("outcome", outcome)])
            }
        }
        let snapshot = store.snapshot
        gauge("configuration_generation", "Configuration version in force (database generation).",
              Double(snapshot.generation))
        gauge("database_reachable", "1 when the datastore answers.", store.health.reachable ? 1 : 0)

        let now = ContinuousClock.now
        for upstream in snapshot.config.upstreams.sorted(by: { $0.name < $1.name }) {
            guard let balancer = runtime.balancer(upstream.name) else { continue }
            let totals = runtime.ejections(upstream.name)?.totals ?? [:]
            for status in balancer.health.statuses() {
                let labels = [("upstream", upstream.name), ("address", status.address.description)]
                gauge("upstream_address_available", "1 when the address takes traffic, 0 when ejected or marked unhealthy.",
                      status.isAvailable ? 1 : 0, labels)
                let ejected = status.ejection.map { $0.isActive && $0.until > now } ?? false
                gauge("upstream_address_ejected", "1 while an ejection of the address runs.", ejected ? 1 : 0, labels)
                gauge("upstream_address_in_flight", "Requests in progress on the address.", Double(status.inFlight), labels)
                counter("upstream_address_requests_total", "Attempts that reached a verdict on the address.",
                        status.counters.totalRequests, labels)
                for (kind, value) in [("connect", status.counters.connectFailures), ("timeout", status.counters.timeouts),
                                      ("http", status.counters.httpFailures)] {
                    counter("upstream_address_failures_total", "Failed attempts on the address, by kind.",
                            value, labels + [("kind", kind)])
                }
                counter("upstream_address_ejections_total", "Ejections of the address since the node started.",
                        totals[status.address] ?? 0, labels)
            }
        }

        let notify = runtime.notify()
        for (result, value) in notify.sorted(by: { $0.key < $1.key }) where result != "refreshes" {
            counter("dns_notify_total", "DNS NOTIFY packets received, by result: accepted, or why refused or dropped.",
                    value, [("result", result)])
        }
        if !notify.isEmpty {
            counter("dns_notify_refreshes_total", "Zone refreshes NOTIFY started (at most one per zone per 100 ms).",
                    notify["refreshes", default: 0])
        }

        for name in runtime.dns().sorted(by: { $0.name < $1.name }) {
            let labels = [("name", name.name), ("type", name.kind)]
            gauge("dns_records", "Records in force for a watched name.", Double(name.records.count), labels)
            gauge("dns_fresh", "1 when the name's records were confirmed within their TTL, 0 when serving stale or held records.",
                  name.status == "fresh" ? 1 : 0, labels)
            counter("dns_queries_total", "Queries sent for the name.", name.queries, labels)
            counter("dns_failures_total", "Queries for the name that failed (timeout, SERVFAIL, REFUSED, unreachable).",
                    name.failures, labels)
            if let ago = name.refreshedAgo {
                gauge("dns_refreshed_seconds_ago", "Seconds since the records were last confirmed.", ago, labels)
            }
        }
        return r
    }
}
