/// What one target expanded to at ring build time. `dns` says why a target has no address, which
/// Kong reports as `DNS_ERROR`.
public struct TargetExpansion: Sendable, Hashable {
    public enum DNS: Sendable, Hashable {
        /// The host is an IP literal; no DNS involved.
        case literal
        /// A/AAAA records of the host name (record count).
        case addressRecords(count: Int)
        /// SRV records of the host name (entry count).
        case serviceRecords(count: Int)
        /// No snapshot for the name yet (discovery has not answered).
        case pending
        /// The name's snapshot holds no records; `reason` is discovery's status text.
        case unresolved(reason: String)
    }

    public let index: Int
    public let target: TargetSpec
    public let dns: DNS
    /// The snapshot generation used, for names.
    public let generation: UInt64?
    /// The addresses this target contributed (sorted, without duplicates).
    public let addresses: [Address]
    /// Weight 0: Kong's way to disable a target without deleting it.
    public var isDisabled: Bool { target.weight == 0 }
}
