import Config
import Foundation

/// Targets from CSV lines `upstream,target,weight` (weight optional; a first line naming the columns is
/// skipped), as older gateways export them. Upstreams that do not exist yet are created with defaults; a
/// target already in its upstream gets the new weight.
public enum TargetCSV {
    /// The configuration with the CSV's targets merged in, or every problem found (with line numbers).
    public static func merge(_ text: String, into config: DeclarativeConfig, source: String = "csv",
                             newID: () -> UUID = UUID.init) throws(ConfigError) -> DeclarativeConfig {
        var next = config
        var issues: [ConfigIssue] = []
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            let at = "\(source):\(index + 1)"
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            if index == 0, fields.first?.lowercased() == "upstream" { continue }
            guard fields.count == 2 || fields.count == 3 else {
                issues.append(.error(.invalid, at, "expected upstream,target[,weight], got \(fields.count) fields"))
                continue
            }
            let weight: Int
            if fields.count == 3, !fields[2].isEmpty {
                guard let value = Int(fields[2]), (0...Target.maxWeight).contains(value) else {
                    issues.append(.error(.invalid, at, "weight must be an integer between 0 and \(Target.maxWeight), got \"\(fields[2])\""))
                    continue
                }
                weight = value
            } else {
                weight = Target.defaultWeight
            }
            let hostPort: (host: String, port: Int)
            switch Target.parse(fields[1]) {
            case let .success(value): hostPort = value
            case let .failure(error):
                issues.append(.error(.invalid, at, "target: \(error.message)"))
                continue
            }
            let name = fields[0]
            let upstreamID: UUID
            if let existing = next.upstreams.first(where: { $0.name == name }) {
                upstreamID = existing.id
            } else {
                let upstream = Upstream(id: newID(), name: name)
                let problems = upstream.validationIssues().filter { $0.severity == .error }
                if !problems.isEmpty {
                    issues += problems.map { .error($0.kind, at, "upstream \"\(name)\": \($0.message)") }
                    continue
                }
                next.upstreams.append(upstream)
                upstreamID = upstream.id
            }
            if let i = next.targets.firstIndex(where: {
                $0.upstream == upstreamID && $0.host == hostPort.host && $0.port == hostPort.port
            }) {
                next.targets[i].weight = weight
            } else {
                next.targets.append(Target(id: newID(), upstream: upstreamID, host: hostPort.host, port: hostPort.port,
                                           weight: weight))
            }
        }
        issues += next.validationIssues().filter { $0.severity == .error }
        if !issues.isEmpty { throw ConfigError(code: .invalid, issues: issues) }
        return next
    }
}
