import Foundation

/// `RawValue` as the Admin API's JSON value: read from a request body with Foundation's JSON decoder (JSON only,
/// not YAML) and written compact with sorted keys, so responses are stable.
///
/// Objects built from dictionaries (`.object(["id": …])`) and objects decoded from JSON have their keys in sorted
/// order; objects parsed from YAML keep the document's order (`RawValue.parse(_:)`).
extension RawValue: Codable {
    public static func bool(_ value: Bool) -> RawValue { .bool(value, text: value ? "true" : "false") }
    public static func int(_ value: Int) -> RawValue { .int(value, text: String(value)) }
    public static func double(_ value: Double) -> RawValue { .double(value, text: String(value)) }

    /// An object with the dictionary's fields, in sorted key order.
    public static func object(_ fields: [String: RawValue]) -> RawValue {
        .object(fields.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) })
    }

    /// An object's fields by key (the last of repeated keys); nil for anything else.
    public var object: [String: RawValue]? {
        guard case let .object(pairs) = self else { return nil }
        return Dictionary(pairs, uniquingKeysWith: { _, last in last })
    }

    /// A string's value; nil for anything else (numbers and booleans included).
    public var string: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([RawValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: RawValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value, _): try container.encode(value)
        case let .int(value, _): try container.encode(value)
        case let .double(value, _): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case .object: try container.encode(object ?? [:])
        }
    }

    /// Parses JSON text (with Foundation's decoder; YAML is not accepted); nil when it is not JSON.
    public static func parse(json text: String) -> RawValue? {
        try? JSONDecoder().decode(RawValue.self, from: Data(text.utf8))
    }

    /// Compact JSON with sorted keys (Foundation's encoder, slashes unescaped); "null" when the value cannot be
    /// written (a NaN or infinite number).
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }
}
