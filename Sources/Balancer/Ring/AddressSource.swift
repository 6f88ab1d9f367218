import DNSWire

/// Where one ring address came from: which target, and through which DNS record. The admin API shows
/// this so an operator can see why an address has the port, weight and priority it has.
public struct AddressSource: Sendable, Hashable {
    /// How the target's host turned into this address.
    public enum Kind: Sendable, Hashable {
        /// The target's host is an IP literal.
        case literal
        /// An A/AAAA answer for the target's host name.
        case addressRecord(name: String)
        /// An SRV entry of the target's host name: the entry (its target, port, weight, priority).
        case serviceRecord(name: String, entry: ServiceRecord)
    }

    /// Index of the target in the upstream's target list.
    public let targetIndex: Int
    public let target: TargetSpec
    public let kind: Kind
    /// The weight this source contributes: the target weight, or the SRV weight for SRV entries.
    public let weight: UInt16
    /// The SRV priority (0 for A/AAAA names and IP targets).
    public let priority: UInt16
}
