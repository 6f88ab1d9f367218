import Foundation

/// Upstreams and targets.
extension DeclarativeParser {
    func parseUpstream(_ raw: RawValue, path: String) {
        guard let r = FieldReader(raw, path: path, log: log) else { return }
        let name = r.string("name") ?? ""
        if name.isEmpty { log.error(.required, r.fieldPath("name"), "required") }
        var u = Upstream(id: id(r, key: "upstream:" + (name.isEmpty ? path : name)), name: name)
        if let a = r.oneOf("algorithm", Upstream.Algorithm.allCases.map(\.rawValue)) {
            u.algorithm = Upstream.Algorithm(rawValue: a) ?? .roundRobin
        }
        let inputs = Upstream.HashInput.allCases.map(\.rawValue)
        if let h = r.oneOf("hash_on", inputs) { u.hashOn = Upstream.HashInput(rawValue: h) ?? .none }
        if let h = r.oneOf("hash_fallback", inputs) { u.hashFallback = Upstream.HashInput(rawValue: h) ?? .none }
        u.hashOnHeader = r.string("hash_on_header")
        u.hashFallbackHeader = r.string("hash_fallback_header")
        u.hashOnCookie = r.string("hash_on_cookie")
        u.hashOnCookiePath = r.string("hash_on_cookie_path") ?? "/"
        u.hashOnQueryArg = r.string("hash_on_query_arg")
        u.hashFallbackQueryArg = r.string("hash_fallback_query_arg")
        u.hashOnURICapture = r.string("hash_on_uri_capture")
        u.hashFallbackURICapture = r.string("hash_fallback_uri_capture")
        u.slots = r.int("slots") ?? 10_000
        u.hostHeader = r.string("host_header")
        u.tags = tags(r)
        if let hc = r.object("healthchecks") {
            u.healthchecks = HealthchecksReader(log: log).read(hc)
        }
        if r.bool("use_srv_name") == true {
            log.error(.unsupported, r.fieldPath("use_srv_name"),
                      "not supported by Switchyard: TLS SNI from SRV names")
        }
        r.consume("targets")
        r.finish(unsupported: ["client_certificate": "client certificates towards upstreams are not available"])
        config.upstreams.append(u)
        paths.byID[u.id] = path
        for (i, item) in (r.raw("targets").flatMap(arrayOrLog(r.fieldPath("targets"))) ?? []).enumerated() {
            parseTarget(item, path: joinPath(r.fieldPath("targets"), i), upstream: u)
        }
    }

    func parseTarget(_ raw: RawValue, path: String, upstream: Upstream?) {
        guard let r = FieldReader(raw, path: path, log: log) else { return }
        let text = r.string("target") ?? ""
        var host = "", port = Target.defaultPort
        if text.isEmpty {
            log.error(.required, r.fieldPath("target"), "required, e.g. target: \"api.service.consul:80\"")
        } else {
            switch Target.parse(text) {
            case let .success(parsed): (host, port) = parsed
            case let .failure(error): log.error(.invalid, r.fieldPath("target"), error.message)
            }
        }
        let parentKey = upstream.map { $0.name } ?? path
        var target = Target(id: id(r, key: "target:\(parentKey):\(Target.format(host: host, port: port)):\(path)"),
                            upstream: upstream?.id ?? Self.unresolved, host: host, port: port)
        target.weight = r.int("weight") ?? Target.defaultWeight
        target.tags = tags(r)
        if let ref = r.reference("upstream") {
            if let upstream {
                if !isParent(ref, id: upstream.id, name: upstream.name) {
                    log.error(.invalid, r.fieldPath("upstream"),
                              "a nested target belongs to its parent upstream; \"\(ref)\" names another")
                }
            } else {
                pendingUpstreamRefs.append((config.targets.count, ref, r.fieldPath("upstream")))
            }
        } else if upstream == nil {
            log.error(.required, r.fieldPath("upstream"), "required for a top-level target")
        }
        r.finish(unsupported: ["failover": "failover targets are not available"])
        config.targets.append(target)
        paths.byID[target.id] = path
    }
}
