import Foundation

/// A private PostgreSQL server could not be found, started or used; `stderr` carries the command's own words
/// (initdb's, pg_ctl's, psql's), or the tail of the server log when the server would not start.
public struct PostgresServerError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let exitStatus: Int32?
    public let stderr: String

    public init(_ message: String, exitStatus: Int32? = nil, stderr: String = "") {
        self.message = message
        self.exitStatus = exitStatus
        self.stderr = stderr
    }

    public var description: String {
        var text = message
        if let exitStatus { text += " (exit \(exitStatus))" }
        let detail = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}
