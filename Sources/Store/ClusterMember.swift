import Foundation

/// What a node reports about itself at each heartbeat, so every node can show the cluster's view of itself.
public struct ClusterHeartbeat: Sendable, Hashable {
    /// Unique in the cluster and stable across restarts of one node (`hostname:proxy-port`).
    public var id: String
    public var hostname: String
    /// The binary's release, so an operator mid-upgrade sees which nodes run which.
    public var binaryVersion: String
    /// The configuration version in force on the node.
    public var appliedVersion: Int
    public var startedAt: Date
    /// How often the node heartbeats: it is stale after 3 missed beats.
    public var interval: Double
    /// The node's view of target health (`ClusterHealthDigest`); nil leaves the stored one as it is.
    public var health: String?

    public init(id: String, hostname: String, binaryVersion: String, appliedVersion: Int, startedAt: Date,
                interval: Double, health: String?) {
        self.id = id
        self.hostname = hostname
        self.binaryVersion = binaryVersion
        self.appliedVersion = appliedVersion
        self.startedAt = startedAt
        self.interval = interval
        self.health = health
    }
}

/// A node as the cluster's table holds it.
public struct ClusterMember: Sendable, Hashable {
    public var id: String
    public var hostname: String
    public var binaryVersion: String
    public var appliedVersion: Int
    public var startedAt: Date
    public var lastSeen: Date
    /// Since the last heartbeat, by the database's clock (so nodes' clock skew does not matter).
    public var secondsSinceSeen: Double
    public var interval: Double
    public var health: String

    public init(id: String, hostname: String, binaryVersion: String, appliedVersion: Int, startedAt: Date,
                lastSeen: Date, secondsSinceSeen: Double, interval: Double, health: String) {
        self.id = id
        self.hostname = hostname
        self.binaryVersion = binaryVersion
        self.appliedVersion = appliedVersion
        self.startedAt = startedAt
        self.lastSeen = lastSeen
        self.secondsSinceSeen = secondsSinceSeen
        self.interval = interval
        self.health = health
    }

    /// Not seen for 3 heartbeats: crashed, cut off from the database, or stopped without leaving.
    public var isStale: Bool { secondsSinceSeen > 3 * interval }
}

/// The cluster's members and the newest configuration version, read in one snapshot.
public struct ClusterView: Sendable, Hashable {
    public var version: Int
    public var members: [ClusterMember]

    public init(version: Int, members: [ClusterMember]) {
        self.version = version
        self.members = members
    }
}

/// A store shared by a cluster: nodes heartbeat into it and read who else is there.
public protocol ClusterDirectory: Sendable {
    /// Records `beat`; throws `StoreError(.unavailable)` while the database cannot be reached.
    func heartbeat(_ beat: ClusterHeartbeat) async throws(StoreError)
    /// Removes the node's row: it left the cluster on purpose (a crashed node stays, marked stale).
    func leave(id: String) async
    func clusterView() async throws(StoreError) -> ClusterView
}

extension ConfigStore {
    /// The cluster this store is shared by; nil for a node's own SQLite.
    public var cluster: (any ClusterDirectory)? { self as? any ClusterDirectory }
}
