import Foundation

/// A helper the tests run failed (a testdns script, initdb, pg_ctl, psql); `stderr` carries its own words (and
/// nsupdate's, named's, or the tail of a server log).
public struct ToolError: Error, CustomStringConvertible, Sendable {
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

/// testdns/ scripts failing.
public typealias TestDNSError = ToolError
/// A private PostgreSQL server that could not be found, started or used.
public typealias PostgresServerError = ToolError
