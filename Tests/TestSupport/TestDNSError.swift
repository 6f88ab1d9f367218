import Foundation

/// A testdns script failed; `stderr` carries the script's (and nsupdate's or named's) own words.
public struct TestDNSError: Error, CustomStringConvertible, Sendable {
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
