import Yams

/// A YAML/JSON document reduced to plain values, keeping mapping order so exports are stable and readable.
///
/// Scalars keep their original text so that string fields accept unquoted values that YAML 1.1 would read as
/// booleans or numbers (`host: on`, `tags: [2024]`).
///
/// Also the Admin API's JSON value (request bodies it merges, responses it builds): see `RawValue+JSON.swift`.
public indirect enum RawValue: Sendable, Equatable {
    case null
    case bool(Bool, text: String)
    case int(Int, text: String)
    case double(Double, text: String)
    case string(String)
    case array([RawValue])
    case object([(key: String, value: RawValue)])

    public static func == (lhs: RawValue, rhs: RawValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a, _), .bool(b, _)): return a == b
        case let (.int(a, _), .int(b, _)): return a == b
        case let (.double(a, _), .double(b, _)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// Text of a scalar as written; nil for null and collections.
    var scalarText: String? {
        switch self {
        case .null, .array, .object: return nil
        case let .bool(_, text), let .int(_, text), let .double(_, text): return text
        case let .string(s): return s
        }
    }

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    var isNull: Bool { if case .null = self { return true } else { return false } }

    /// Converts a Yams node tree; aliases are already resolved by the composer.
    init(node: Node) {
        switch node {
        case let .scalar(scalar):
            let text = scalar.string
            // Quoted scalars are always strings, whatever they look like.
            if scalar.style == .singleQuoted || scalar.style == .doubleQuoted {
                self = .string(text)
                return
            }
            switch node.tag.description {
            case Tag.Name.null.rawValue: self = .null
            case Tag.Name.bool.rawValue: self = node.bool.map { .bool($0, text: text) } ?? .string(text)
            case Tag.Name.int.rawValue: self = node.int.map { .int($0, text: text) } ?? .string(text)
            case Tag.Name.float.rawValue: self = node.float.map { .double($0, text: text) } ?? .string(text)
            default: self = .string(text)
            }
        case let .mapping(mapping):
            var pairs: [(key: String, value: RawValue)] = []
            pairs.reserveCapacity(mapping.count)
            for (key, value) in mapping {
                pairs.append((key: key.string ?? "", value: RawValue(node: value)))
            }
            self = .object(pairs)
        case let .sequence(sequence):
            self = .array(sequence.map { RawValue(node: $0) })
        }
    }

    /// Parses YAML (and so JSON, which is YAML) into a value; syntax errors carry line and column.
    static func parse(_ text: String) throws(ConfigError) -> RawValue {
        do {
            guard let node = try Yams.compose(yaml: text) else { return .null }
            return RawValue(node: node)
        } catch {
            throw ConfigError(code: .syntax,
                              issues: [.error(.invalid, "", "not valid YAML or JSON: \(error)")])
        }
    }
}
