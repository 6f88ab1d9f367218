import Foundation

/// Where each entity came from in a file (`services[1].routes[0]`), so cross-entity errors point at the source.
public struct EntityPaths: Sendable, Hashable {
    public var byID: [UUID: String] = [:]

    public init(byID: [UUID: String] = [:]) {
        self.byID = byID
    }
}

extension DeclarativeConfig {
    /// Every field and cross-entity problem: invalid fields, duplicate names or ids (kind `.conflict`), references
    /// to missing entities (kind `.notFound`).
    public func validationIssues(options: ValidationOptions = .init(), paths: EntityPaths = .init()) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        func at(_ id: UUID, _ fallback: String) -> String { paths.byID[id] ?? fallback }

        let serviceIDs = Set(services.map(\.id))
        let routeIDs = Set(routes.map(\.id))
        let upstreamIDs = Set(upstreams.map(\.id))
        let consumerIDs = Set(consumers.map(\.id))

        func unique<T>(_ items: [T], _ kind: String, _ key: (T) -> String?, _ field: String,
                       _ id: (T) -> UUID, _ plural: String) {
            var seen: [String: Int] = [:]
            for (i, item) in items.enumerated() {
                guard let value = key(item) else { continue }
                if let first = seen[value] {
                    issues.append(.error(.conflict, joinPath(at(id(item), "\(plural)[\(i)]"), field),
                                         "\(kind) with \(field) \"\(value)\" already exists (\(at(id(items[first]), "\(plural)[\(first)]")))"))
                } else {
                    seen[value] = i
                }
            }
        }

        for (i, s) in services.enumerated() {
            issues += s.validationIssues(path: at(s.id, "services[\(i)]"), options: options)
        }
        unique(services, "service", { $0.id.uuidString }, "id", \.id, "services")
        unique(services, "service", \.name, "name", \.id, "services")

        for (i, r) in routes.enumerated() {
            let path = at(r.id, "routes[\(i)]")
            issues += r.validationIssues(path: path)
            if let service = r.service, !serviceIDs.contains(service) {
                issues.append(.error(.notFound, joinPath(path, "service"),
                                     "no service with id \(service.uuidString.lowercased())"))
            }
        }
        unique(routes, "route", { $0.id.uuidString }, "id", \.id, "routes")
        unique(routes, "route", \.name, "name", \.id, "routes")

        for (i, u) in upstreams.enumerated() {
            issues += u.validationIssues(path: at(u.id, "upstreams[\(i)]"))
        }
        unique(upstreams, "upstream", { $0.id.uuidString }, "id", \.id, "upstreams")
        unique(upstreams, "upstream", \.name, "name", \.id, "upstreams")

        for (i, t) in targets.enumerated() {
            let path = at(t.id, "targets[\(i)]")
            issues += t.validationIssues(path: path)
            if !upstreamIDs.contains(t.upstream) {
                issues.append(.error(.notFound, joinPath(path, "upstream"),
                                     "no upstream with id \(t.upstream.uuidString.lowercased())"))
            }
        }
        unique(targets, "target", { $0.id.uuidString }, "id", \.id, "targets")
        unique(targets, "target", { "\($0.upstream.uuidString)/\($0.target)" }, "target", \.id, "targets")

        for (i, c) in consumers.enumerated() {
            issues += c.validationIssues(path: at(c.id, "consumers[\(i)]"))
        }
        unique(consumers, "consumer", { $0.id.uuidString }, "id", \.id, "consumers")
        unique(consumers, "consumer", \.username, "username", \.id, "consumers")
        unique(consumers, "consumer", \.customID, "custom_id", \.id, "consumers")

        for (i, k) in keyAuthCredentials.enumerated() {
            let path = at(k.id, "keyauth_credentials[\(i)]")
            issues += k.validationIssues(path: path)
            if !consumerIDs.contains(k.consumer) {
                issues.append(.error(.notFound, joinPath(path, "consumer"),
                                     "no consumer with id \(k.consumer.uuidString.lowercased())"))
            }
        }
        unique(keyAuthCredentials, "key-auth credential", { $0.id.uuidString }, "id", \.id, "keyauth_credentials")
        unique(keyAuthCredentials, "key-auth credential", \.key, "key", \.id, "keyauth_credentials")

        for (i, p) in plugins.enumerated() {
            let path = at(p.id, "plugins[\(i)]")
            issues += p.validationIssues(path: path)
            if let route = p.route, !routeIDs.contains(route) {
                issues.append(.error(.notFound, joinPath(path, "route"),
                                     "no route with id \(route.uuidString.lowercased())"))
            }
            if let service = p.service, !serviceIDs.contains(service) {
                issues.append(.error(.notFound, joinPath(path, "service"),
                                     "no service with id \(service.uuidString.lowercased())"))
            }
        }
        unique(plugins, "plugin", { $0.id.uuidString }, "id", \.id, "plugins")
        unique(plugins, "plugin", { p in
            let scope = p.route.map { "route \($0.uuidString.lowercased())" }
                ?? p.service.map { "service \($0.uuidString.lowercased())" } ?? "global"
            return "\(p.name) on \(scope)"
        }, "name", \.id, "plugins")
        return issues
    }
}
