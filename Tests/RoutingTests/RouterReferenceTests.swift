import Config
import Foundation
import Testing
import TestSupport
@testable import Routing

/// Compares the indexed router with a direct reading of Kong's precedence over random tables.
@Suite("Router against a reference")
struct RouterReferenceTests {
    static let hostPool = ["a.com", "b.com", "x.a.com", "*.a.com", "a.*"]
    static let pathPool = ["/", "/api", "/api/v1", "/apix", "/b", "~/api/\\d+", "~/b.*"]
    static let methodPool = ["GET", "POST"]

    /// Kong's order, computed the slow way for one request.
    static func reference(_ routes: [Route], method: String, host: String, path: String) -> String {
        var best: (rank: [Int], index: Int, name: String)?
        for (index, route) in routes.enumerated() {
            if !route.methods.isEmpty && !route.methods.contains(method) { continue }
            if !route.hosts.isEmpty && !route.hosts.contains(where: { pattern in
                if pattern.hasPrefix("*.") { return host.hasSuffix(String(pattern.dropFirst())) }
                if pattern.hasSuffix(".*") { return host.hasPrefix(String(pattern.dropLast())) }
                return pattern == host
            }) { continue }
            let fields = [!route.methods.isEmpty, !route.hosts.isEmpty, !route.paths.isEmpty].filter { $0 }.count
            let plain = !route.hosts.isEmpty && !route.hosts.contains { $0.contains("*") }
            var groups: [[Int]] = []
            if route.paths.isEmpty { groups.append([fields, plain ? 1 : 0, 0, 0, 0, 0]) }
            for p in route.paths {
                if p.hasPrefix("~") {
                    let regex = try? NSRegularExpression(pattern: "^(?:" + p.dropFirst() + ")")
                    if regex?.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil {
                        groups.append([fields, plain ? 1 : 0, 0, 1, route.regexPriority, 0])
                    }
                } else if path.hasPrefix(p) {
                    groups.append([fields, plain ? 1 : 0, 0, 0, 0, p.utf8.count])
                }
            }
            for rank in groups {
                if let current = best {
                    if rank.lexicographicallyPrecedes(current.rank) || rank == current.rank { continue }
                }
                best = (rank, index, route.name ?? "?")
            }
        }
        return best?.name ?? "404"
    }

    @Test func agreesWithReferenceOnRandomTables() throws {
        var rng = SeededGenerator(seed: 20261127)
        for table in 0..<40 {
            var routes: [Route] = []
            let service = Service(name: "svc", host: "b.internal")
            for i in 0..<Int.random(in: 3...15, using: &rng) {
                var route = Route(name: "t\(table)r\(i)", service: service.id)
                if Bool.random(using: &rng) { route.methods = [Self.methodPool.randomElement(using: &rng) ?? "GET"] }
                if Bool.random(using: &rng) { route.hosts = [Self.hostPool.randomElement(using: &rng) ?? "a.com"] }
                let pathCount = Int.random(in: 0...2, using: &rng)
                route.paths = (0..<pathCount).compactMap { _ in Self.pathPool.randomElement(using: &rng) }
                route.regexPriority = Int.random(in: 0...2, using: &rng)
                if route.methods.isEmpty && route.hosts.isEmpty && route.paths.isEmpty { route.paths = ["/"] }
                routes.append(route)
            }
            let config = DeclarativeConfig(services: [service], routes: routes)
            #expect(config.validationIssues().isEmpty)
            let router = Router(config: config)
            for _ in 0..<50 {
                let method = Self.methodPool.randomElement(using: &rng) ?? "GET"
                let host = ["a.com", "b.com", "x.a.com", "y.x.a.com", "a.org", "c.com"].randomElement(using: &rng) ?? "a.com"
                let path = ["/", "/api", "/api/v1/x", "/apix", "/api/42", "/b/c", "/bx", "/z"].randomElement(using: &rng) ?? "/"
                let expected = Self.reference(routes, method: method, host: host, path: path)
                #expect(router.name(method, host: host, path: path) == expected,
                        "table \(table): \(method) \(host) \(path)")
            }
        }
    }
}
