/// One source of node settings in text form, before validation: a settings file, the environment, or the command
/// line. Keys are setting names (`proxy_listen`); list values are comma-separated.
public struct SettingsLayer: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case file
        case environment
        case commandLine
    }

    /// Where the values came from, used in error messages ("settings.yaml", "command line").
    public var source: String
    public var kind: Kind
    public var values: [String: String]

    public init(source: String, kind: Kind = .commandLine, values: [String: String] = [:]) {
        self.source = source
        self.kind = kind
        self.values = values
    }

    public static let environmentPrefix = "SWITCHYARD_"

    /// How an error names a key from this layer: `SWITCHYARD_PROXY_LISTEN`, `settings.yaml: proxy_listen`.
    func label(for key: String) -> String {
        switch kind {
        case .environment: return SettingsLayer.environmentPrefix + key.uppercased()
        case .file: return "\(source): \(key)"
        case .commandLine: return "\(source): \(key)"
        }
    }

    /// `SWITCHYARD_PROXY_LISTEN=...` → `proxy_listen`. Variables not naming a setting are skipped (and listed by
    /// `unknownEnvironmentVariables` so the caller can warn).
    public static func environment(_ environment: [String: String]) -> SettingsLayer {
        var values: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix(environmentPrefix) {
            let key = name.dropFirst(environmentPrefix.count).lowercased()
            if NodeSettings.keys.contains(key) { values[key] = value }
        }
        return SettingsLayer(source: "environment", kind: .environment, values: values)
    }

    /// `SWITCHYARD_*` variables that match no setting (likely typos).
    public static func unknownEnvironmentVariables(_ environment: [String: String]) -> [String] {
        environment.keys.filter { name in
            name.hasPrefix(environmentPrefix)
                && !NodeSettings.keys.contains(name.dropFirst(environmentPrefix.count).lowercased())
        }.sorted()
    }

    /// A YAML mapping of `key: value` (lists allowed for list settings). Unknown keys are errors, so a typo never
    /// silently leaves a default in place.
    public static func file(yaml: String, source: String) throws(ConfigError) -> SettingsLayer {
        var raw: RawValue
        do {
            raw = try RawValue.parse(yaml)
        } catch {
            throw ConfigError(code: .syntax, issues: error.issues.map { var i = $0; i.path = source; return i })
        }
        if raw.isNull { raw = .object([]) }
        guard case let .object(pairs) = raw else {
            throw ConfigError(code: .invalid, issues: [.error(.invalid, source, "expected a mapping of key: value")])
        }
        var values: [String: String] = [:]
        var issues: [ConfigIssue] = []
        for (key, value) in pairs {
            let at = "\(source): \(key)"
            guard NodeSettings.keys.contains(key) else {
                issues.append(.error(.unknownField, at,
                                     "unknown setting (known: \(NodeSettings.keys.joined(separator: ", ")))"))
                continue
            }
            switch value {
            case .null: continue
            case let .array(items):
                values[key] = items.compactMap(\.scalarText).joined(separator: ",")
            case .object:
                issues.append(.error(.invalid, at, "expected a value or a list, got an object"))
            default:
                values[key] = value.scalarText
            }
        }
        if !issues.isEmpty { throw ConfigError(code: .invalid, issues: issues) }
        return SettingsLayer(source: source, kind: .file, values: values)
    }

    /// This layer with `higher`'s values taking precedence.
    public func merging(_ higher: SettingsLayer) -> SettingsLayer {
        var merged = self
        merged.values.merge(higher.values) { _, new in new }
        merged.source = higher.source
        return merged
    }
}
