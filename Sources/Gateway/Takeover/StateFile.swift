import Foundation

/// The node's state on disk (`state_file`), so a node restarted without a predecessor to take over from (a crash,
/// `systemctl restart`, a reboot) still starts warm. Written atomically (a temporary file, then rename).
public struct StateFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public func write(_ carry: NodeCarry) throws {
        let data = try JSONEncoder().encode(carry)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The carried state, if the file exists, parses, is of a known format and is no older than `maxAge` seconds
    /// (older answers would not be served any more anyway); otherwise nil and why.
    public func read(maxAge: Double) -> (carry: NodeCarry?, note: String) {
        guard FileManager.default.fileExists(atPath: path) else { return (nil, "no state file at \(path)") }
        let carry: NodeCarry
        do {
            carry = try JSONDecoder().decode(NodeCarry.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            return (nil, "state file \(path) is unreadable, starting cold: \(error)")
        }
        guard carry.format == NodeCarry.currentFormat else {
            return (nil, "state file \(path) has format \(carry.format), this binary reads \(NodeCarry.currentFormat); starting cold")
        }
        let age = carry.age()
        guard age <= maxAge else {
            return (nil, "state file \(path) is \(Int(age)) s old, more than dns_stale_ttl (\(Int(maxAge)) s); starting cold")
        }
        return (carry, "state file \(path), \(Int(age)) s old")
    }
}
