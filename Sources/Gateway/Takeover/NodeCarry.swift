import Balancer
import Foundation

/// What a node hands to the process that takes it over, so that process does not start cold: the DNS
/// answers with their TTLs and stale clocks, the circuit breakers and holds per upstream, and the
/// configuration generation. Also the content of the state file a node writes when it stops.
public struct NodeCarry: Sendable, Codable {
    /// The format; a process refuses a carry of a format it does not know (and starts cold).
    public static let currentFormat = 1
    public var format = NodeCarry.currentFormat
    /// Wall-clock time the state was taken (seconds since 1970), so a state file's age is known.
    public var takenAt: Double
    public var generation: Int
    public var names: [CarriedName]
    /// Upstream name → its breakers and holds that are not at rest.
    public var health: [String: [CarriedBreaker]]

    public init(takenAt: Double, generation: Int, names: [CarriedName], health: [String: [CarriedBreaker]]) {
        self.takenAt = takenAt
        self.generation = generation
        self.names = names
        self.health = health
    }

    /// Seconds since the state was taken (0 when the clock went backwards).
    public func age(now: Date = Date()) -> Double {
        max(0, now.timeIntervalSince1970 - takenAt)
    }
}
