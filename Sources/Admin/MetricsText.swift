/// Prometheus text exposition (format 0.0.4) for `GET /metrics`: families declared once with `# HELP` and
/// `# TYPE`, samples with escaped label values. Pure, so the format is tested without a server.
struct MetricsText {
    enum Kind: String {
        case counter, gauge
    }

    private var families: [(name: String, help: String, kind: Kind)] = []
    private var samples: [String: [String]] = [:]

    /// Declares a metric family; samples added before or after land under it.
    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        families.append((name, help, kind))
    }

    mutating func sample(_ name: String, _ value: Double, labels: [(String, String)] = []) {
        var line = name
        if !labels.isEmpty {
            line += "{" + labels.map { "\($0.0)=\"\(MetricsText.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        line += " " + MetricsText.format(value)
        samples[name, default: []].append(line)
    }

    mutating func sample(_ name: String, _ value: Int, labels: [(String, String)] = []) {
        sample(name, Double(value), labels: labels)
    }

    var text: String {
        var out = ""
        for family in families {
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.kind.rawValue)\n"
            for line in samples[family.name] ?? [] { out += line + "\n" }
        }
        return out
    }

    /// Backslash, double quote and line feed are escaped in label values, as the format requires.
    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
