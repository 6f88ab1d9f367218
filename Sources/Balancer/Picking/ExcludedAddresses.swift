/// Addresses a retry must not pick again, held inline (no allocation) for the last `capacity` tries.
public struct ExcludedAddresses: Sendable {
    public static let capacity = 8

    private var storage: (Address, Address, Address, Address, Address, Address, Address, Address)
    private var next = 0
    public private(set) var count = 0

    public init() {
        let none = Address(ip: .v4(0), port: 0)
        storage = (none, none, none, none, none, none, none, none)
    }

    /// Remembers a tried address; past `capacity` the oldest is forgotten.
    public mutating func insert(_ address: Address) {
        if contains(address) { return }
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.baseAddress!.assumingMemoryBound(to: Address.self)[next] = address
        }
        next = (next + 1) % Self.capacity
        count = min(count + 1, Self.capacity)
    }

    @inline(__always)
    public func contains(_ address: Address) -> Bool {
        if count == 0 { return false }
        return withUnsafeBytes(of: storage) { raw in
            let items = raw.baseAddress!.assumingMemoryBound(to: Address.self)
            for i in 0..<count where items[i] == address { return true }
            return false
        }
    }
}
