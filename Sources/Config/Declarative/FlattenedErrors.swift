import Foundation

/// The errors of a declarative document grouped by the entity they belong to, in the shape of Kong's
/// `POST /config?flatten_errors=1`: a controller that generated the file (an ingress controller, a CI job) can
/// tell which of its objects to fix without parsing field paths.
public struct FlattenedErrors: Sendable, Hashable {
    /// One entity of the document and every error found in it.
    public struct Entity: Sendable, Hashable {
        /// Singular Kong type: `service`, `route`, `upstream`, `target`, `consumer`, `plugin`, `keyauth_credential`.
        public var type: String
        /// The entity's `name` as given, when it is a string.
        public var name: String?
        /// The entity's `id` as given, when it is a UUID.
        public var id: String?
        /// The entity's `tags` as given, when they are strings.
        public var tags: [String]?
        /// The entity as given, as a JSON object text, without its nested entities; a nested entity carries
        /// its parent's id (`{"service": {"id": ...}}`) when the parent gave one.
        public var json: String
        public var errors: [Problem]
        /// Where the entity sits in the document (`services[0].routes[1]`).
        public var path: String
    }

    /// One error: on a field of the entity (`field` set, type `field`) or on the whole entity (type `entity`).
    public struct Problem: Sendable, Hashable {
        public var field: String?
        public var message: String
        public var type: String { field == nil ? "entity" : "field" }
    }

    public var entities: [Entity]
    /// Errors outside every entity (`_format_version`, an unsupported top-level key, a syntax error).
    public var others: [ConfigIssue]
}

extension DeclarativeConfig {
    /// Entity collections and, for each nested one, the field naming its parent.
    private static let collections: [String: (type: String, parentField: [String: String])] = [
        "services": ("service", [:]),
        "routes": ("route", ["service": "service"]),
        "upstreams": ("upstream", [:]),
        "targets": ("target", ["upstream": "upstream"]),
        "consumers": ("consumer", [:]),
        "keyauth_credentials": ("keyauth_credential", ["consumer": "consumer"]),
        "plugins": ("plugin", ["service": "service", "route": "route", "consumer": "consumer"]),
    ]

    /// Groups the errors of `issues` by the entity of `text` (the document they were found in) that each one's
    /// path points into; warnings are left out.
    public static func flattenErrors(_ issues: [ConfigIssue], in text: String) -> FlattenedErrors {
        let errors = issues.filter { $0.severity == .error }
        guard let document = try? RawValue.parse(text) else { return FlattenedErrors(entities: [], others: errors) }
        var entities: [FlattenedErrors.Entity] = []
        var index: [String: Int] = [:]
        var others: [ConfigIssue] = []
        for issue in errors {
            guard let found = locate(issue.path, in: document) else {
                others.append(issue)
                continue
            }
            let problem = FlattenedErrors.Problem(field: found.field, message: issue.message)
            if let at = index[found.path] {
                entities[at].errors.append(problem)
                continue
            }
            index[found.path] = entities.count
            entities.append(FlattenedErrors.Entity(
                type: found.type, name: found.object.first { $0.key == "name" }?.value.string,
                id: found.object.first { $0.key == "id" }?.value.string.flatMap { UUID(uuidString: $0) == nil ? nil : $0 },
                tags: found.object.first { $0.key == "tags" }?.value.stringArray,
                json: RawValue.object(found.object).withNonFiniteNumbersAsText.jsonText, errors: [problem], path: found.path))
        }
        return FlattenedErrors(entities: entities, others: others)
    }

    private struct Located {
        var type: String
        var path: String
        var object: [(key: String, value: RawValue)]
        var field: String?
    }

    /// Follows `path` (`services[0].routes[1].paths[2]`) through entity collections as deep as they go.
    private static func locate(_ path: String, in document: RawValue) -> Located? {
        let segments = splitPath(path)
        var current: Located?
        var container = document
        var consumed = 0
        for segment in segments {
            guard let entry = collections[segment.name], let position = segment.index,
                  case let .object(fields) = container,
                  case let .array(items)? = fields.first(where: { $0.key == segment.name })?.value,
                  items.indices.contains(position), case let .object(entity) = items[position] else { break }
            let entityPath = (current.map { $0.path + "." } ?? "") + "\(segment.name)[\(position)]"
            var shown = entity.filter { pair in
                guard collections[pair.key] != nil, case .array = pair.value else { return true }
                return false
            }
            if let parent = current, let field = entry.parentField[parent.type],
               !shown.contains(where: { $0.key == field }),
               let id = parent.object.first(where: { $0.key == "id" })?.value.string, UUID(uuidString: id) != nil {
                shown.append((key: field, value: .object([(key: "id", value: .string(id))])))
            }
            current = Located(type: entry.type, path: entityPath, object: shown, field: nil)
            container = .object(entity)
            consumed += 1
        }
        guard var found = current else { return nil }
        let rest = segments.dropFirst(consumed).map(\.text).joined(separator: ".")
        found.field = rest.isEmpty ? nil : rest
        return found
    }

    private struct Segment {
        var text: String
        var name: String
        var index: Int?
    }

    /// `routes[1]` → name `routes`, index 1; `paths` → name `paths`.
    private static func splitPath(_ path: String) -> [Segment] {
        path.split(separator: ".", omittingEmptySubsequences: true).map { part in
            let text = String(part)
            guard text.hasSuffix("]"), let open = text.firstIndex(of: "[") else {
                return Segment(text: text, name: text, index: nil)
            }
            let number = text[text.index(after: open)..<text.index(before: text.endIndex)]
            return Segment(text: text, name: String(text[..<open]), index: Int(number))
        }
    }
}

extension RawValue {
    var stringArray: [String]? {
        guard case let .array(items) = self else { return nil }
        let strings = items.compactMap(\.string)
        return strings.count == items.count ? strings : nil
    }

    /// The value with NaN and infinite numbers as their text (`nan`, `inf`), which JSON cannot carry, so an
    /// entity that has one is still shown.
    var withNonFiniteNumbersAsText: RawValue {
        switch self {
        case let .double(value, _) where !value.isFinite: return .string(String(value))
        case .null, .bool, .int, .double, .string: return self
        case let .array(items): return .array(items.map(\.withNonFiniteNumbersAsText))
        case let .object(pairs): return .object(pairs.map { (key: $0.key, value: $0.value.withNonFiniteNumbersAsText) })
        }
    }
}
