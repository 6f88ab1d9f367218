import Config
import HTTPTypes
import Hummingbird
import NIOCore

/// JSON answers in the shapes Kong's Admin API uses, including its error bodies.
enum AdminResponse {
    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ value: RawValue, status: HTTPResponse.Status = .ok) -> Response {
        json(value.jsonText, status: status)
    }

    static func message(_ text: String, status: HTTPResponse.Status) -> Response {
        json(.object(["message": .string(text)]), status: status)
    }

    static var notFound: Response { message("Not found", status: .notFound) }

    static var noContent: Response { Response(status: .noContent) }

    /// 409 when a name or key is taken, else 400; `fields` maps each issue's field path to its message
    /// (several messages on one field are joined).
    static func invalid(_ error: ConfigError) -> Response {
        let errors = error.errors.isEmpty ? error.issues : error.errors
        let conflict = errors.contains { $0.kind == .conflict }
        var fields: [String: RawValue] = [:]
        for issue in errors {
            let key = issue.path.isEmpty ? "@entity" : issue.path
            if case let .string(existing)? = fields[key] {
                fields[key] = .string(existing + "; " + issue.message)
            } else {
                fields[key] = .string(issue.message)
            }
        }
        let count = errors.count
        let name: String
        if conflict {
            name = "unique constraint violation"
        } else if error.code == .syntax {
            name = "invalid body"
        } else {
            name = "schema violation"
        }
        let summary = errors.map(\.description).joined(separator: ", ")
        let message = count == 1 ? "\(name) (\(summary))" : "\(count) \(name)s (\(summary))"
        return json(.object(["name": .string(name), "message": .string(message), "fields": .object(fields)]),
                    status: conflict ? .conflict : .badRequest)
    }
}
