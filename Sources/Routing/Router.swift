import Config

/// An immutable, precompiled routing table built from one configuration snapshot: built off the request path,
/// then shared by every event loop.
///
/// Lookup cost: candidates are sorted once by Kong's precedence. Requests find theirs through three lists, each
/// already in precedence order: routes whose exact host equals the request host (a hash lookup), routes with a
/// wildcard host, and routes without hosts. The lists are merged on the fly and the first candidate whose method,
/// headers and path match wins, so most requests test a handful of candidates with byte-prefix comparisons;
/// regexes are compiled once and run only after the cheaper rules of their route passed. The only allocations on
/// a match are the normalized path when it needed normalizing and the upstream path.
public final class Router: Sendable {
    private let candidates: [RouteCandidate]
    /// Exact host (lower case, `host` or `host:port`) → candidate indices in precedence order.
    private let byExactHost: [String: [Int]]
    private let wildcardHosted: [Int]
    private let hostless: [Int]

    /// Routes in the table (routes of disabled services are left out).
    public let routeCount: Int

    /// Key-auth keys → their consumer, for routes whose `RouteTarget.keyAuth` is set.
    private let consumersByKey: [String: Consumer]

    /// The consumer owning an API key, or nil (the proxy answers 401).
    public func consumer(forKey key: String) -> Consumer? { consumersByKey[key] }

    /// Builds the table. `config` should have passed validation; routes that still fail to compile (a regex the
    /// validator missed) are skipped and reported in `skipped`.
    public init(config: DeclarativeConfig) {
        let serviceIndexByID = Dictionary(config.services.enumerated().map { ($0.element.id, $0.offset) },
                                          uniquingKeysWith: { first, _ in first })
        let upstreamsByName = Dictionary(config.upstreams.map { ($0.name, $0) },
                                         uniquingKeysWith: { first, _ in first })
        var built: [RouteCandidate] = []
        var skipped: [String] = []
        var count = 0
        for (index, route) in config.routes.enumerated() {
            let serviceIndex = route.service.flatMap { serviceIndexByID[$0] }
            let service = serviceIndex.map { config.services[$0] }
            if let service, !service.enabled { continue }
            let destination: RouteTarget.Destination? = service.map { service in
                if let upstream = upstreamsByName[service.host] { return .upstream(upstream) }
                return .host(service.host, port: service.port)
            }
            let target = RouteTarget(route: route, service: service, serviceIndex: serviceIndex, destination: destination,
                                     keyAuth: config.keyAuth(forRoute: route))
            guard let made = Router.candidates(for: route, target: target, index: index) else {
                skipped.append(route.displayName)
                continue
            }
            count += 1
            built += made
        }
        // Stable sort: higher rank first, then declaration order.
        built = built.enumerated().sorted { a, b in
            if a.element.rank != b.element.rank { return a.element.rank > b.element.rank }
            if a.element.declarationIndex != b.element.declarationIndex {
                return a.element.declarationIndex < b.element.declarationIndex
            }
            return a.offset < b.offset
        }.map(\.element)

        var exact: [String: [Int]] = [:]
        var wildcard: [Int] = []
        var anyHost: [Int] = []
        for (i, candidate) in built.enumerated() {
            let hosts = candidate.target.route.hosts
            if hosts.isEmpty {
                anyHost.append(i)
                continue
            }
            var exactKeys: Set<String> = []
            for host in hosts where !host.contains("*") {
                exactKeys.insert(Router.canonicalHost(host))
            }
            for key in exactKeys { exact[key, default: []].append(i) }
            if !candidate.wildcardHosts.isEmpty { wildcard.append(i) }
        }
        let consumers = Dictionary(config.consumers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var keys: [String: Consumer] = [:]
        for credential in config.keyAuthCredentials {
            if let consumer = consumers[credential.consumer], keys[credential.key] == nil {
                keys[credential.key] = consumer
            }
        }
        consumersByKey = keys
        candidates = built
        byExactHost = exact
        wildcardHosted = wildcard
        hostless = anyHost
        routeCount = count
        self.skipped = skipped
    }

    /// Names of routes left out because a rule failed to compile.
    public let skipped: [String]

    /// Finds the route for a request and computes what to send upstream.
    public func route<H: RouteHeaders>(_ request: RouteRequest, headers: H) -> RoutingDecision {
        let (rawPath, query) = Router.splitTarget(request.target)
        let path = PathNormalizer.normalize(rawPath)
        // Without host rules the host is never looked at: skip lower-casing and splitting it.
        let (host, port, hostWithPort) = byExactHost.isEmpty && wildcardHosted.isEmpty
            ? (nil, nil, nil) : Router.splitHost(request.host)

        let exactList = host.flatMap { byExactHost[$0] } ?? []
        let exactPortList = hostWithPort.flatMap { byExactHost[$0] } ?? []
        var cursors = (0, 0, 0, 0)
        var redirect: RouteTarget?

        while true {
            // Next candidate in precedence order across the four lists (indices are ranks).
            var best = Int.max
            var from = -1
            if cursors.0 < exactPortList.count, exactPortList[cursors.0] < best { best = exactPortList[cursors.0]; from = 0 }
            if cursors.1 < exactList.count, exactList[cursors.1] < best { best = exactList[cursors.1]; from = 1 }
            if cursors.2 < wildcardHosted.count, wildcardHosted[cursors.2] < best { best = wildcardHosted[cursors.2]; from = 2 }
            if cursors.3 < hostless.count, hostless[cursors.3] < best { best = hostless[cursors.3]; from = 3 }
            switch from {
            case 0: cursors.0 += 1
            case 1: cursors.1 += 1
            case 2: cursors.2 += 1
            case 3: cursors.3 += 1
            default:
                if let redirect {
                    return .httpsRequired(statusCode: redirect.route.httpsRedirectStatusCode, target: redirect)
                }
                return .noRoute
            }
            let candidate = candidates[best]  // a class reference: no copy of the rules
            if from == 2 {
                guard let host, candidate.wildcardHosts.contains(where: { $0.matches(host: host, port: port) }) else {
                    continue
                }
            }
            guard let found = candidate.match(method: request.method, path: path, scheme: request.scheme,
                                              headers: headers) else { continue }
            guard found.protocolMatches else {
                // Only plain http on an https route earns a redirect; anything else simply does not match.
                if redirect == nil, request.scheme == .http, candidate.acceptsHTTPS {
                    redirect = candidate.target
                }
                continue
            }
            var match = Router.makeMatch(candidate.target, path: path, query: query,
                                         matchedLength: found.matchedLength, requestHost: request.host)
            match.uriCaptures = found.captures
            return .matched(match)
        }
    }

    /// Convenience for callers without header rules to satisfy.
    public func route(_ request: RouteRequest) -> RoutingDecision {
        route(request, headers: NoHeaders())
    }

    // MARK: Building

    private static func candidates(for route: Route, target: RouteTarget, index: Int) -> [RouteCandidate]? {
        var wildcards: [HostPattern] = []
        for host in route.hosts where host.contains("*") {
            guard let pattern = HostPattern(host) else { return nil }
            wildcards.append(pattern)
        }
        var headerRules: [RouteCandidate.HeaderRule] = []
        for name in route.headers.keys.sorted() {
            var plain: [[UInt8]] = []
            var regexes: [CompiledRegex] = []
            for value in route.headers[name] ?? [] {
                if value.hasPrefix("~*") {
                    guard let regex = CompiledRegex(String(value.dropFirst(2)), caseInsensitive: true,
                                                    anchored: false) else { return nil }
                    regexes.append(regex)
                } else {
                    plain.append(Array(value.lowercased().utf8))
                }
            }
            headerRules.append(.init(name: name.lowercased(), plain: plain, regexes: regexes))
        }
        let base = RouteCandidate.Rank(
            matchFields: [!route.methods.isEmpty, !route.hosts.isEmpty, !route.headers.isEmpty,
                          !route.paths.isEmpty].filter { $0 }.count,
            plainHostsOnly: !route.hosts.isEmpty && wildcards.isEmpty,
            headerCount: route.headers.count,
            isRegex: false, regexPriority: 0, prefixLength: 0)
        func make(_ path: RouteCandidate.PathRule, _ rank: RouteCandidate.Rank) -> RouteCandidate {
            RouteCandidate(target: target, declarationIndex: index, methods: Set(route.methods),
                           wildcardHosts: wildcards, path: path, headers: headerRules,
                           protocols: Set(route.protocols), rank: rank)
        }
        if route.paths.isEmpty { return [make(.any, base)] }
        var out: [RouteCandidate] = []
        var regexes: [CompiledRegex] = []
        for path in route.paths {
            if path.hasPrefix("~") {
                guard let regex = CompiledRegex(String(path.dropFirst())) else { return nil }
                regexes.append(regex)
            } else {
                var rank = base
                rank.prefixLength = path.utf8.count
                out.append(make(.prefix(Array(path.utf8)), rank))
            }
        }
        if !regexes.isEmpty {
            var rank = base
            rank.isRegex = true
            rank.regexPriority = route.regexPriority
            out.append(make(.regex(regexes), rank))
        }
        return out
    }

    // MARK: Request parts

    /// `example.com:8080` with port → ("example.com", 8080, "example.com:8080"); lower-cased, trailing dot dropped.
    /// Works on UTF-8 bytes: no grapheme breaking and no copy unless the host has upper-case letters.
    static func splitHost(_ raw: String?) -> (host: String?, port: Int?, hostWithPort: String?) {
        guard let raw, !raw.isEmpty else { return (nil, nil, nil) }
        let lowered = raw.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) ? raw.lowercased() : raw
        let utf8 = lowered.utf8
        var end = utf8.endIndex
        var port: Int?
        // A port follows the last ':' unless that colon sits inside an IPv6 literal's brackets.
        if let colon = utf8.lastIndex(of: UInt8(ascii: ":")),
           utf8.first != UInt8(ascii: "[") || utf8[utf8.index(before: colon)] == UInt8(ascii: "]") {
            var value = 0
            var digits = 0
            for byte in utf8[utf8.index(after: colon)...] {
                guard byte >= 48 && byte <= 57, digits < 5 else { digits = -1; break }
                value = value * 10 + Int(byte - 48)
                digits += 1
            }
            if digits > 0 { port = value }
            end = colon
        }
        if end > utf8.startIndex, utf8[utf8.index(before: end)] == UInt8(ascii: ".") {
            end = utf8.index(before: end)
        }
        let host = end == utf8.endIndex ? lowered : String(Substring(lowered.utf8[..<end]))
        return (host, port, port.map { host + ":" + String($0) })
    }

    static func canonicalHost(_ host: String) -> String {
        let (name, port, withPort) = splitHost(host)
        return port == nil ? (name ?? "") : (withPort ?? "")
    }

    static func splitTarget(_ target: String) -> (path: Substring, query: Substring?) {
        guard let offset = UTF8Scan.firstOffset(of: UInt8(ascii: "?"), in: target) else { return (Substring(target), nil) }
        let mark = target.utf8.index(target.utf8.startIndex, offsetBy: offset)
        let after = target.utf8.index(after: mark)
        return (target[..<mark], target[after...])
    }

    static func makeMatch(_ target: RouteTarget, path: String, query: Substring?, matchedLength: Int,
                          requestHost: String?) -> RouteMatch {
        let route = target.route
        var upstream = PathRewriter.upstreamPath(servicePath: target.service?.path, requestPath: path,
                                                 stripPath: route.stripPath, matchedLength: matchedLength)
        if let query {
            upstream += "?"
            upstream += query
        }
        let hostHeader: UpstreamHostHeader
        if route.preserveHost, let requestHost {
            hostHeader = .value(requestHost)
        } else {
            hostHeader = target.upstreamHostHeader
        }
        return RouteMatch(target: target, upstreamTarget: upstream, hostHeader: hostHeader)
    }
}
