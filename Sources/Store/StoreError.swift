import Foundation

/// The Store module's error: what went wrong with the database, in words an operator can act on, plus the
/// underlying SQLite error for logs.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The database file could not be opened or created.
        case unavailable
        /// The schema is older than this build expects; run `switchyard migrations up`.
        case schemaOutdated
        /// A stored row could not be read back into entities.
        case corrupt
        /// A read or write failed.
        case io
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}
