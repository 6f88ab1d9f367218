import Foundation
import Yams

extension DeclarativeConfig {
    public enum ExportFormat: Sendable {
        case yaml
        case json
    }

    /// Writes Kong's declarative format (`_format_version: "3.0"`), nesting routes under services, targets under
    /// upstreams and credentials under consumers, with ids so a re-import keeps them. Switchyard's extension fields
    /// are written only when they differ from their defaults, so a file that uses none stays loadable by Kong.
    public func export(as format: ExportFormat = .yaml) -> String {
        render(exportTree(), as: format)
    }

    /// Every entity at the top level in the Admin API's shape (foreign keys as `{"id": ...}`), in array order.
    /// Loads back to an equal configuration; suits stores that keep one row per entity.
    public func exportFlat(as format: ExportFormat = .json) -> String {
        func ref(_ id: UUID?) -> RawValue { id.map { .object([("id", .string(Self.idText($0)))]) } ?? .null }
        var top: [(key: String, value: RawValue)] = [("_format_version", .string("3.0"))]
        top.append(("services", .array(services.map { .object(Self.serviceFields($0)) })))
        top.append(("routes", .array(routes.map { r in
            .object(Self.routeFields(r, withService: false) + [("service", ref(r.service))])
        })))
        top.append(("upstreams", .array(upstreams.map { .object(Self.upstreamFields($0)) })))
        top.append(("targets", .array(targets.map { .object(Self.targetFields($0) + [("upstream", ref($0.upstream))]) })))
        top.append(("consumers", .array(consumers.map { c in
            .object([("id", .string(Self.idText(c.id))), ("username", c.username.map { .string($0) } ?? .null),
                     ("custom_id", c.customID.map { .string($0) } ?? .null), ("tags", Self.strings(c.tags))])
        })))
        top.append(("keyauth_credentials", .array(keyAuthCredentials.map { k in
            .object([("id", .string(Self.idText(k.id))), ("consumer", ref(k.consumer)), ("key", .string(k.key)),
                     ("tags", Self.strings(k.tags))])
        })))
        top.append(("plugins", .array(plugins.map { p in
            guard case let .object(fields) = Self.pluginFields(p, scope: false) else { return .null }
            return .object(fields + [("route", ref(p.route)), ("service", ref(p.service))])
        })))
        return render(.object(top), as: format)
    }

    private func render(_ tree: RawValue, as format: ExportFormat) -> String {
        switch format {
        case .json:
            var out = ""
            JSONWriter.write(tree, into: &out, indent: 0)
            return out + "\n"
        case .yaml:
            return (try? Yams.serialize(node: tree.yamlNode, sortKeys: false)) ?? ""
        }
    }

    func exportTree() -> RawValue {
        var top: [(key: String, value: RawValue)] = [("_format_version", .string("3.0"))]
        let nestedRouteIDs = Set(routes.filter { r in r.service.map { id in services.contains { $0.id == id } } ?? false }.map(\.id))
        let nestedPluginIDs = Set(plugins.filter { p in
            (p.route.map(nestedRouteIDs.contains) ?? false) || (p.route == nil && p.service.map { id in services.contains { $0.id == id } } ?? false)
        }.map(\.id))
        if !services.isEmpty {
            top.append(("services", .array(services.map { service in
                var fields = Self.serviceFields(service)
                let own = routes.filter { $0.service == service.id }
                if !own.isEmpty {
                    fields.append(("routes", .array(own.map { route in
                        var routeFields = Self.routeFields(route, withService: false)
                        let routePlugins = plugins.filter { $0.route == route.id }
                        if !routePlugins.isEmpty {
                            routeFields.append(("plugins", .array(routePlugins.map { Self.pluginFields($0, scope: false) })))
                        }
                        return .object(routeFields)
                    })))
                }
                let servicePlugins = plugins.filter { $0.route == nil && $0.service == service.id }
                if !servicePlugins.isEmpty {
                    fields.append(("plugins", .array(servicePlugins.map { Self.pluginFields($0, scope: false) })))
                }
                return .object(fields)
            })))
        }
        let topRoutes = routes.filter { !nestedRouteIDs.contains($0.id) }
        if !topRoutes.isEmpty {
            top.append(("routes", .array(topRoutes.map { .object(Self.routeFields($0, withService: true)) })))
        }
        if !upstreams.isEmpty {
            top.append(("upstreams", .array(upstreams.map { upstream in
                var fields = Self.upstreamFields(upstream)
                let own = targets.filter { $0.upstream == upstream.id }
                if !own.isEmpty {
                    fields.append(("targets", .array(own.map { .object(Self.targetFields($0)) })))
                }
                return .object(fields)
            })))
        }
        let orphanTargets = targets.filter { t in !upstreams.contains { $0.id == t.upstream } }
        if !orphanTargets.isEmpty {
            top.append(("targets", .array(orphanTargets.map { t in
                .object(Self.targetFields(t) + [("upstream", .string(Self.idText(t.upstream)))])
            })))
        }
        if !consumers.isEmpty {
            top.append(("consumers", .array(consumers.map { consumer in
                var fields: [(key: String, value: RawValue)] = [("id", .string(Self.idText(consumer.id)))]
                if let u = consumer.username { fields.append(("username", .string(u))) }
                if let c = consumer.customID { fields.append(("custom_id", .string(c))) }
                fields.append(("tags", Self.strings(consumer.tags)))
                let creds = keyAuthCredentials.filter { $0.consumer == consumer.id }
                if !creds.isEmpty {
                    fields.append(("keyauth_credentials", .array(creds.map { k in
                        .object([("id", .string(Self.idText(k.id))), ("key", .string(k.key)),
                                 ("tags", Self.strings(k.tags))])
                    })))
                }
                return .object(fields)
            })))
        }
        let topPlugins = plugins.filter { !nestedPluginIDs.contains($0.id) }
        if !topPlugins.isEmpty {
            top.append(("plugins", .array(topPlugins.map { Self.pluginFields($0, scope: true) })))
        }
        return .object(top)
    }

    static func idText(_ id: UUID) -> String { id.uuidString.lowercased() }
    static func strings(_ list: [String]) -> RawValue { .array(list.map { .string($0) }) }
    static func ints(_ list: [Int]) -> RawValue { .array(list.map { .int($0, text: String($0)) }) }
    static func int(_ v: Int) -> RawValue { .int(v, text: String(v)) }
    static func num(_ v: Double) -> RawValue {
        v == v.rounded() && abs(v) < 1e15 ? .int(Int(v), text: String(Int(v))) : .double(v, text: String(v))
    }
    static func bool(_ v: Bool) -> RawValue { .bool(v, text: v ? "true" : "false") }
    static func headerMap(_ headers: [String: [String]]) -> RawValue {
        .object(headers.keys.sorted().map { ($0, strings(headers[$0] ?? [])) })
    }

    static func serviceFields(_ s: Service) -> [(key: String, value: RawValue)] {
        var f: [(key: String, value: RawValue)] = [("id", .string(idText(s.id)))]
        if let name = s.name { f.append(("name", .string(name))) }
        f += [("protocol", .string(s.protocol.rawValue)), ("host", .string(s.host)), ("port", int(s.port))]
        if let path = s.path { f.append(("path", .string(path))) }
        f += [("retries", int(s.retries)), ("connect_timeout", int(s.connectTimeout)),
              ("write_timeout", int(s.writeTimeout)), ("read_timeout", int(s.readTimeout)),
              ("enabled", bool(s.enabled)), ("tags", strings(s.tags))]
        if let verify = s.tlsVerify { f.append(("tls_verify", bool(verify))) }
        return f
    }

    static func routeFields(_ r: Route, withService: Bool) -> [(key: String, value: RawValue)] {
        var f: [(key: String, value: RawValue)] = [("id", .string(idText(r.id)))]
        if let name = r.name { f.append(("name", .string(name))) }
        if withService, let service = r.service { f.append(("service", .string(idText(service)))) }
        f.append(("protocols", strings(r.protocols.map(\.rawValue))))
        if !r.methods.isEmpty { f.append(("methods", strings(r.methods))) }
        if !r.hosts.isEmpty { f.append(("hosts", strings(r.hosts))) }
        if !r.paths.isEmpty { f.append(("paths", strings(r.paths))) }
        if !r.headers.isEmpty { f.append(("headers", headerMap(r.headers))) }
        f += [("strip_path", bool(r.stripPath)), ("preserve_host", bool(r.preserveHost)),
              ("regex_priority", int(r.regexPriority)), ("path_handling", .string("v0")),
              ("https_redirect_status_code", int(r.httpsRedirectStatusCode)),
              ("request_buffering", bool(r.requestBuffering)), ("response_buffering", bool(r.responseBuffering)),
              ("tags", strings(r.tags))]
        if let size = r.maxRequestBodySize { f.append(("max_request_body_size", int(size))) }
        return f
    }

    static func upstreamFields(_ u: Upstream) -> [(key: String, value: RawValue)] {
        var f: [(key: String, value: RawValue)] = [("id", .string(idText(u.id))), ("name", .string(u.name)),
            ("algorithm", .string(u.algorithm.rawValue)), ("hash_on", .string(u.hashOn.rawValue)),
            ("hash_fallback", .string(u.hashFallback.rawValue))]
        let optionals: [(String, String?)] = [
            ("hash_on_header", u.hashOnHeader), ("hash_fallback_header", u.hashFallbackHeader),
            ("hash_on_cookie", u.hashOnCookie), ("hash_on_query_arg", u.hashOnQueryArg),
            ("hash_fallback_query_arg", u.hashFallbackQueryArg), ("hash_on_uri_capture", u.hashOnURICapture),
            ("hash_fallback_uri_capture", u.hashFallbackURICapture), ("host_header", u.hostHeader),
        ]
        for (key, value) in optionals { if let value { f.append((key, .string(value))) } }
        f += [("hash_on_cookie_path", .string(u.hashOnCookiePath)), ("slots", int(u.slots)),
              ("healthchecks", healthcheckTree(u.healthchecks)), ("tags", strings(u.tags))]
        return f
    }

    static func healthcheckTree(_ hc: Healthchecks) -> RawValue {
        let d = Healthchecks()
        let a = hc.active, p = hc.passive
        var active: [(key: String, value: RawValue)] = [
            ("type", .string(a.type.rawValue)), ("timeout", num(a.timeout)), ("concurrency", int(a.concurrency)),
            ("http_path", .string(a.httpPath)), ("https_verify_certificate", bool(a.httpsVerifyCertificate)),
        ]
        if let sni = a.httpsSNI { active.append(("https_sni", .string(sni))) }
        if !a.headers.isEmpty { active.append(("headers", headerMap(a.headers))) }
        active += [
            ("healthy", .object([("interval", num(a.healthy.interval)), ("http_statuses", ints(a.healthy.httpStatuses)),
                                 ("successes", int(a.healthy.successes))])),
            ("unhealthy", .object([("interval", num(a.unhealthy.interval)),
                                   ("http_statuses", ints(a.unhealthy.httpStatuses)),
                                   ("tcp_failures", int(a.unhealthy.tcpFailures)),
                                   ("timeouts", int(a.unhealthy.timeouts)),
                                   ("http_failures", int(a.unhealthy.httpFailures))])),
        ]
        var unhealthy: [(key: String, value: RawValue)] = [
            ("http_statuses", ints(p.unhealthy.httpStatuses)), ("tcp_failures", int(p.unhealthy.tcpFailures)),
            ("timeouts", int(p.unhealthy.timeouts)), ("http_failures", int(p.unhealthy.httpFailures)),
        ]
        if p.unhealthy.ejectionTime != d.passive.unhealthy.ejectionTime {
            unhealthy.append(("ejection_time", num(p.unhealthy.ejectionTime)))
        }
        if p.unhealthy.maxEjectionTime != d.passive.unhealthy.maxEjectionTime {
            unhealthy.append(("max_ejection_time", num(p.unhealthy.maxEjectionTime)))
        }
        var top: [(key: String, value: RawValue)] = [
            ("active", .object(active)),
            ("passive", .object([("type", .string(p.type.rawValue)),
                                 ("healthy", .object([("http_statuses", ints(p.healthy.httpStatuses)),
                                                      ("successes", int(p.healthy.successes))])),
                                 ("unhealthy", .object(unhealthy))])),
            ("threshold", num(hc.threshold)),
        ]
        if hc.maxEjectionPercent != d.maxEjectionPercent { top.append(("max_ejection_percent", num(hc.maxEjectionPercent))) }
        if hc.panicThreshold != d.panicThreshold { top.append(("panic_threshold", num(hc.panicThreshold))) }
        return .object(top)
    }

    static func targetFields(_ t: Target) -> [(key: String, value: RawValue)] {
        [("id", .string(idText(t.id))), ("target", .string(t.target)), ("weight", int(t.weight)),
         ("tags", strings(t.tags))]
    }

    static func pluginFields(_ p: Plugin, scope: Bool) -> RawValue {
        var f: [(key: String, value: RawValue)] = [("id", .string(idText(p.id))), ("name", .string(p.name))]
        if scope {
            if let route = p.route { f.append(("route", .string(idText(route)))) }
            if let service = p.service { f.append(("service", .string(idText(service)))) }
        }
        f.append(("enabled", bool(p.enabled)))
        switch p.config {
        case let .keyAuth(c):
            f.append(("config", .object([("key_names", strings(c.keyNames)), ("hide_credentials", bool(c.hideCredentials)),
                                         ("key_in_header", bool(c.keyInHeader)), ("key_in_query", bool(c.keyInQuery)),
                                         ("key_in_body", bool(false)), ("run_on_preflight", bool(c.runOnPreflight))])))
        }
        f.append(("tags", strings(p.tags)))
        return .object(f)
    }
}

extension RawValue {
    /// A Yams node that serializes with the same key order and types (strings that look like numbers or booleans
    /// are quoted so they read back as strings).
    var yamlNode: Node {
        switch self {
        case .null: return Node("null", Tag(.null))
        case let .bool(b, _): return Node(b ? "true" : "false", Tag(.bool))
        case let .int(_, text): return Node(text, Tag(.int))
        case let .double(_, text): return Node(text, Tag(.float))
        case let .string(s):
            let plain = RawValue(node: Node(s))
            if case .string = plain, !s.isEmpty, !s.contains(": "), !s.hasPrefix(" "), !s.hasSuffix(" ") {
                return Node(s, Tag(.str))
            }
            return Node(s, Tag(.str), .doubleQuoted)
        case let .array(items): return Node(items.map(\.yamlNode))
        case let .object(pairs): return Node(pairs.map { (Node($0.key), $0.value.yamlNode) })
        }
    }
}

/// Minimal JSON writer over `RawValue`, keeping key order (Foundation's writer would sort or shuffle it).
enum JSONWriter {
    static func write(_ value: RawValue, into out: inout String, indent: Int) {
        let pad = String(repeating: "  ", count: indent + 1)
        let closePad = String(repeating: "  ", count: indent)
        switch value {
        case .null: out += "null"
        case let .bool(b, _): out += b ? "true" : "false"
        case let .int(i, _): out += String(i)
        case let .double(d, _): out += d.isFinite ? String(d) : "null"
        case let .string(s): writeString(s, into: &out)
        case let .array(items):
            if items.isEmpty { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                write(item, into: &out, indent: indent + 1)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += closePad + "]"
        case let .object(pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{\n"
            for (i, pair) in pairs.enumerated() {
                out += pad
                writeString(pair.key, into: &out)
                out += ": "
                write(pair.value, into: &out, indent: indent + 1)
                out += i == pairs.count - 1 ? "\n" : ",\n"
            }
            out += closePad + "}"
        }
    }

    /// A JSON string literal, escaped by Foundation's encoder (the same rules as the Admin API's output).
    static func writeString(_ s: String, into out: inout String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let data = try? encoder.encode(s) else {
            out += "\"\""  // unreachable: every Swift string encodes
            return
        }
        out += String(decoding: data, as: UTF8.self)
    }
}
