/// Which schema migrations a database has and which this build would still apply.
public struct MigrationStatus: Sendable, Hashable {
    public var applied: [String]
    public var pending: [String]

    public init(applied: [String], pending: [String]) {
        self.applied = applied
        self.pending = pending
    }

    public var isUpToDate: Bool { pending.isEmpty }
}
