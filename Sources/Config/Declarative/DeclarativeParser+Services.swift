import Foundation

/// Services and routes (with their nested routes and plugins).
extension DeclarativeParser {
    func parseService(_ raw: RawValue, path: String) {
        guard let r = FieldReader(raw, path: path, log: log) else { return }
        let name = r.string("name")
        var service = Service(id: id(r, key: "service:" + (name ?? path)), name: name, host: "")
        if let url = r.string("url") {
            applyURL(url, to: &service, path: r.fieldPath("url"))
            for field in ["protocol", "host", "port", "path"] where r.has(field) {
                log.error(.invalid, r.fieldPath(field), "cannot be set together with 'url'")
            }
        } else {
            if let p = r.oneOf("protocol", Service.UpstreamProtocol.allCases.map(\.rawValue) + Self.otherProtocols) {
                if let known = Service.UpstreamProtocol(rawValue: p) {
                    service.protocol = known
                } else {
                    log.error(.unsupported, r.fieldPath("protocol"),
                              "not supported by Switchyard: protocol \"\(p)\" (use \"http\")")
                }
            }
            if let host = r.string("host") { service.host = host } else {
                log.error(.required, r.fieldPath("host"), "required (or give 'url')")
            }
            service.port = r.int("port") ?? service.protocol.defaultPort
            service.path = r.string("path")
        }
        service.retries = r.int("retries") ?? service.retries
        service.connectTimeout = r.int("connect_timeout") ?? service.connectTimeout
        service.writeTimeout = r.int("write_timeout") ?? service.writeTimeout
        service.readTimeout = r.int("read_timeout") ?? service.readTimeout
        service.enabled = r.bool("enabled") ?? true
        service.tags = tags(r)
        service.tlsVerify = r.bool("tls_verify")
        _ = r.raw("tls_verify_depth")  // the chain depth is BoringSSL's default; Kong's null means the same
        r.consume("routes", "plugins")
        r.finish(unsupported: [
            "client_certificate": "client certificates towards upstreams are not available",
            "ca_certificates": "set the node's upstream_tls_trusted_certificate to a PEM file instead",
        ])
        config.services.append(service)
        paths.byID[service.id] = path
        for (i, item) in (r.raw("routes").flatMap(arrayOrLog(r.fieldPath("routes"))) ?? []).enumerated() {
            parseRoute(item, path: joinPath(r.fieldPath("routes"), i), service: service.id)
        }
        for (i, item) in (r.raw("plugins").flatMap(arrayOrLog(r.fieldPath("plugins"))) ?? []).enumerated() {
            parsePlugin(item, path: joinPath(r.fieldPath("plugins"), i), scope: .service(service.id))
        }
    }

    static let otherProtocols = ["grpc", "grpcs", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss"]

    func arrayOrLog(_ path: String) -> (RawValue) -> [RawValue]? {
        { [log] value in
            if case let .array(items) = value { return items }
            log.error(.invalid, path, "expected an array, got \(value.typeName)")
            return nil
        }
    }

    /// Kong's `url` shorthand: `http://host:port/path`.
    func applyURL(_ url: String, to service: inout Service, path: String) {
        guard let schemeEnd = url.range(of: "://") else {
            log.error(.invalid, path, "expected a URL like http://host:port/path, got \"\(url)\"")
            return
        }
        let scheme = String(url[..<schemeEnd.lowerBound]).lowercased()
        guard let proto = Service.UpstreamProtocol(rawValue: scheme) else {
            log.error(.unsupported, path, "not supported by Switchyard: scheme \"\(scheme)\" (use http)")
            return
        }
        service.protocol = proto
        let rest = url[schemeEnd.upperBound...]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        let urlPath = rest[slash...]
        switch HostPort.split(authority) {
        case let .failure(error):
            log.error(.invalid, path, error.message)
        case let .success((host, port)):
            service.host = host
            service.port = port ?? proto.defaultPort
        }
        service.path = urlPath.isEmpty ? nil : String(urlPath)
    }

    func parseRoute(_ raw: RawValue, path: String, service: UUID?) {
        guard let r = FieldReader(raw, path: path, log: log) else { return }
        let name = r.string("name")
        var route = Route(id: id(r, key: "route:" + (name ?? path)), name: name, service: service)
        if let ref = r.reference("service") {
            if let service {
                if !isParent(ref, id: service, name: config.services.first { $0.id == service }?.name) {
                    log.error(.invalid, r.fieldPath("service"),
                              "a nested route belongs to its parent service; \"\(ref)\" names another")
                }
            } else {
                pendingServiceRefs.append((config.routes.count, .route, ref, r.fieldPath("service")))
            }
        }
        if let protocols = r.stringArray("protocols") {
            route.protocols = []
            for (i, p) in protocols.enumerated() {
                if let known = Route.ClientProtocol(rawValue: p) {
                    route.protocols.append(known)
                } else {
                    log.error(.unsupported, joinPath(r.fieldPath("protocols"), i),
                              "not supported by Switchyard: protocol \"\(p)\" (use \"http\" or \"https\")")
                }
            }
        }
        route.methods = r.stringArray("methods") ?? []
        route.hosts = r.stringArray("hosts") ?? []
        route.paths = (r.stringArray("paths") ?? []).enumerated().map { i, p in
            legacyPath(p, at: joinPath(r.fieldPath("paths"), i))
        }
        if let headers = r.object("headers") {
            route.headers = parseHeaderMap(headers)
        }
        route.stripPath = r.bool("strip_path") ?? true
        route.preserveHost = r.bool("preserve_host") ?? false
        route.regexPriority = r.int("regex_priority") ?? 0
        route.httpsRedirectStatusCode = r.int("https_redirect_status_code") ?? 426
        route.requestBuffering = r.bool("request_buffering") ?? true
        route.responseBuffering = r.bool("response_buffering") ?? true
        route.maxRequestBodySize = r.int("max_request_body_size")
        route.tags = tags(r)
        if let handling = r.string("path_handling"), handling != "v0" {
            log.error(.unsupported, r.fieldPath("path_handling"),
                      "not supported by Switchyard: \"\(handling)\" (only \"v0\", Kong 3's default)")
        }
        r.consume("plugins")
        r.finish(unsupported: [
            "snis": "TLS is terminated in front of Switchyard",
            "sources": "stream routes are not available",
            "destinations": "stream routes are not available",
            "expression": "expression routes are not available; use methods, hosts, paths and headers",
            "priority": "expression routes are not available",
        ])
        config.routes.append(route)
        paths.byID[route.id] = path
        for (i, item) in (r.raw("plugins").flatMap(arrayOrLog(r.fieldPath("plugins"))) ?? []).enumerated() {
            parsePlugin(item, path: joinPath(r.fieldPath("plugins"), i), scope: .route(route.id))
        }
    }

    /// Files older than format 3.0 wrote regex paths without `~`; as Kong 3 does when loading them, a path with
    /// characters outside plain path characters is read as a regex.
    func legacyPath(_ path: String, at field: String) -> String {
        guard config.formatVersion != "3.0", !path.hasPrefix("~") else { return path }
        let plain = path.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || ".-_~/%".unicodeScalars.contains(c)
        }
        if plain { return path }
        log.warning(.converted, field, "read as the regex \"~\(path)\" (format \(config.formatVersion) regex path)")
        return "~" + path
    }

    func parseHeaderMap(_ r: FieldReader) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for key in r.keys {
            guard let value = r.raw(key) else { continue }
            let values: [String]
            switch value {
            case let .array(items):
                values = items.compactMap(\.scalarText)
            case .object:
                log.error(.invalid, r.fieldPath(key), "expected a value or a list of values")
                continue
            default:
                values = value.scalarText.map { [$0] } ?? []
            }
            out[key.lowercased(), default: []].append(contentsOf: values)
        }
        return out
    }
}
