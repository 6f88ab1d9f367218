import Foundation

/// Collects issues while entities are read, so one pass reports every problem in a file.
final class IssueLog {
    private(set) var issues: [ConfigIssue] = []

    var hasErrors: Bool { issues.contains { $0.severity == .error } }

    func error(_ kind: ConfigIssue.Kind, _ path: String, _ message: String) {
        issues.append(.error(kind, path, message))
    }

    func warning(_ kind: ConfigIssue.Kind, _ path: String, _ message: String) {
        issues.append(.warning(kind, path, message))
    }

    func append(contentsOf more: [ConfigIssue]) {
        issues.append(contentsOf: more)
    }
}

/// Field paths: `services[1].routes[0]` + `paths` → `services[1].routes[0].paths`.
func joinPath(_ base: String, _ field: String) -> String {
    base.isEmpty ? field : "\(base).\(field)"
}

func joinPath(_ base: String, _ index: Int) -> String {
    "\(base)[\(index)]"
}

/// Reads the fields of one entity object, type-checking each and remembering which keys were used so that the
/// remaining ones can be reported as unknown or unsupported.
final class FieldReader {
    let path: String
    let log: IssueLog
    private let pairs: [(key: String, value: RawValue)]
    private var used: Set<String> = []

    /// Returns nil (after logging) when `value` is not an object.
    init?(_ value: RawValue, path: String, log: IssueLog) {
        guard case let .object(pairs) = value else {
            log.error(.invalid, path, "expected an object, got \(value.typeName)")
            return nil
        }
        self.pairs = pairs
        self.path = path
        self.log = log
        var seen: Set<String> = []
        for pair in pairs where !seen.insert(pair.key).inserted {
            log.error(.invalid, joinPath(path, pair.key), "field given more than once")
        }
    }

    func fieldPath(_ key: String) -> String { joinPath(path, key) }

    /// Keys in document order.
    var keys: [String] { pairs.map(\.key) }

    /// The value, or nil when absent or null (Kong treats null as "use the default").
    func raw(_ key: String) -> RawValue? {
        used.insert(key)
        guard let pair = pairs.first(where: { $0.key == key }), !pair.value.isNull else { return nil }
        return pair.value
    }

    func has(_ key: String) -> Bool { pairs.contains { $0.key == key && !$0.value.isNull } }

    func string(_ key: String) -> String? {
        guard let value = raw(key) else { return nil }
        switch value {
        case .array, .object:
            log.error(.invalid, fieldPath(key), "expected a string, got \(value.typeName)")
            return nil
        default:
            return value.scalarText
        }
    }

    func int(_ key: String) -> Int? {
        guard let value = raw(key) else { return nil }
        switch value {
        case let .int(i, _): return i
        case let .double(d, _) where d == d.rounded() && abs(d) < 1e15: return Int(d)
        default:
            log.error(.invalid, fieldPath(key), "expected an integer, got \(value.typeName)")
            return nil
        }
    }

    func number(_ key: String) -> Double? {
        guard let value = raw(key) else { return nil }
        switch value {
        case let .int(i, _): return Double(i)
        case let .double(d, _): return d
        default:
            log.error(.invalid, fieldPath(key), "expected a number, got \(value.typeName)")
            return nil
        }
    }

    func bool(_ key: String) -> Bool? {
        guard let value = raw(key) else { return nil }
        if case let .bool(b, _) = value { return b }
        log.error(.invalid, fieldPath(key), "expected true or false, got \(value.typeName)")
        return nil
    }

    func array(_ key: String) -> [RawValue]? {
        guard let value = raw(key) else { return nil }
        if case let .array(items) = value { return items }
        log.error(.invalid, fieldPath(key), "expected an array, got \(value.typeName)")
        return nil
    }

    func stringArray(_ key: String) -> [String]? {
        guard let items = array(key) else { return nil }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            switch item {
            case .null, .array, .object:
                log.error(.invalid, joinPath(fieldPath(key), i), "expected a string, got \(item.typeName)")
            default:
                if let text = item.scalarText { out.append(text) }
            }
        }
        return out
    }

    func intArray(_ key: String) -> [Int]? {
        guard let items = array(key) else { return nil }
        var out: [Int] = []
        for (i, item) in items.enumerated() {
            if case let .int(v, _) = item {
                out.append(v)
            } else {
                log.error(.invalid, joinPath(fieldPath(key), i), "expected an integer, got \(item.typeName)")
            }
        }
        return out
    }

    func object(_ key: String) -> FieldReader? {
        guard let value = raw(key) else { return nil }
        return FieldReader(value, path: fieldPath(key), log: log)
    }

    /// A reference to another entity: a string (name or id) or Kong's `{id: ...}` / `{name: ...}` object.
    func reference(_ key: String) -> String? {
        guard let value = raw(key) else { return nil }
        switch value {
        case .object:
            guard let ref = FieldReader(value, path: fieldPath(key), log: log) else { return nil }
            let id = ref.string("id")
            let name = ref.string("name")
            ref.finish()
            if id == nil && name == nil {
                log.error(.invalid, fieldPath(key), "a reference needs an id or a name")
            }
            return id ?? name
        case .array:
            log.error(.invalid, fieldPath(key), "expected a name, an id, or {id: ...}, got an array")
            return nil
        default:
            return value.scalarText
        }
    }

    /// A string with one of the allowed values.
    func oneOf(_ key: String, _ allowed: [String]) -> String? {
        guard let text = string(key) else { return nil }
        guard allowed.contains(text) else {
            log.error(.invalid, fieldPath(key),
                      "expected one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(text)\"")
            return nil
        }
        return text
    }

    /// Marks keys handled elsewhere (nested entity arrays) as used.
    func consume(_ keys: String...) {
        used.formUnion(keys)
    }

    /// Reports every key not read: harmless Kong metadata as warnings, Kong fields Switchyard does not implement as
    /// errors (when set to something other than null or an empty collection), anything else as unknown.
    func finish(harmless: Set<String> = [], unsupported: [String: String] = [:]) {
        for (key, value) in pairs where !used.contains(key) {
            let path = fieldPath(key)
            if key == "_comment" || key == "_ignore" {
                continue
            }
            if harmless.contains(key) || FieldReader.alwaysHarmless.contains(key) {
                log.warning(.ignored, path, "ignored (no effect in Switchyard)")
            } else if let why = unsupported[key] {
                if isEmptyValue(value) { continue }
                log.error(.unsupported, path, "not supported by Switchyard: \(why)")
            } else {
                log.error(.unknownField, path, "unknown field")
            }
        }
    }

    private func isEmptyValue(_ value: RawValue) -> Bool {
        switch value {
        case .null: return true
        case let .array(items): return items.isEmpty
        case let .object(pairs): return pairs.isEmpty
        default: return false
        }
    }

    /// Fields Kong's exports carry on every entity that do not change behaviour.
    static let alwaysHarmless: Set<String> = ["created_at", "updated_at", "ws_id"]
}
