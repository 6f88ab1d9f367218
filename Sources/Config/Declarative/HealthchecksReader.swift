/// Reads `upstreams[].healthchecks` in Kong's shape, starting from Kong's defaults, plus Switchyard's extensions.
struct HealthchecksReader {
    let log: IssueLog

    func read(_ r: FieldReader) -> Healthchecks {
        var hc = Healthchecks()
        hc.threshold = r.number("threshold") ?? hc.threshold
        hc.maxEjectionPercent = r.number("max_ejection_percent") ?? hc.maxEjectionPercent
        hc.panicThreshold = r.number("panic_threshold") ?? hc.panicThreshold
        let types = Healthchecks.ProbeType.allCases.map(\.rawValue)
        if let a = r.object("active") {
            if let t = a.oneOf("type", types) { hc.active.type = Healthchecks.ProbeType(rawValue: t) ?? .http }
            hc.active.timeout = a.number("timeout") ?? hc.active.timeout
            hc.active.concurrency = a.int("concurrency") ?? hc.active.concurrency
            hc.active.httpPath = a.string("http_path") ?? hc.active.httpPath
            hc.active.httpsSNI = a.string("https_sni")
            hc.active.httpsVerifyCertificate = a.bool("https_verify_certificate") ?? hc.active.httpsVerifyCertificate
            if let headers = a.object("headers") {
                var out: [String: [String]] = [:]
                for key in headers.keys {
                    switch headers.raw(key) {
                    case let .array(items)?: out[key.lowercased()] = items.compactMap(\.scalarText)
                    case let value?: out[key.lowercased()] = value.scalarText.map { [$0] } ?? []
                    case nil: break
                    }
                }
                hc.active.headers = out
            }
            if let h = a.object("healthy") {
                hc.active.healthy.interval = h.number("interval") ?? hc.active.healthy.interval
                hc.active.healthy.httpStatuses = h.intArray("http_statuses") ?? hc.active.healthy.httpStatuses
                hc.active.healthy.successes = h.int("successes") ?? hc.active.healthy.successes
                h.finish()
            }
            if let u = a.object("unhealthy") {
                hc.active.unhealthy.interval = u.number("interval") ?? hc.active.unhealthy.interval
                hc.active.unhealthy.httpStatuses = u.intArray("http_statuses") ?? hc.active.unhealthy.httpStatuses
                hc.active.unhealthy.tcpFailures = u.int("tcp_failures") ?? hc.active.unhealthy.tcpFailures
                hc.active.unhealthy.timeouts = u.int("timeouts") ?? hc.active.unhealthy.timeouts
                hc.active.unhealthy.httpFailures = u.int("http_failures") ?? hc.active.unhealthy.httpFailures
                u.finish()
            }
            a.finish()
        }
        if let p = r.object("passive") {
            if let t = p.oneOf("type", types) { hc.passive.type = Healthchecks.ProbeType(rawValue: t) ?? .http }
            if let h = p.object("healthy") {
                hc.passive.healthy.httpStatuses = h.intArray("http_statuses") ?? hc.passive.healthy.httpStatuses
                hc.passive.healthy.successes = h.int("successes") ?? hc.passive.healthy.successes
                h.finish()
            }
            if let u = p.object("unhealthy") {
                hc.passive.unhealthy.httpStatuses = u.intArray("http_statuses") ?? hc.passive.unhealthy.httpStatuses
                hc.passive.unhealthy.tcpFailures = u.int("tcp_failures") ?? hc.passive.unhealthy.tcpFailures
                hc.passive.unhealthy.timeouts = u.int("timeouts") ?? hc.passive.unhealthy.timeouts
                hc.passive.unhealthy.httpFailures = u.int("http_failures") ?? hc.passive.unhealthy.httpFailures
                hc.passive.unhealthy.ejectionTime = u.number("ejection_time") ?? hc.passive.unhealthy.ejectionTime
                hc.passive.unhealthy.maxEjectionTime = u.number("max_ejection_time")
                    ?? hc.passive.unhealthy.maxEjectionTime
                u.finish()
            }
            p.finish()
        }
        r.finish()
        return hc
    }
}
