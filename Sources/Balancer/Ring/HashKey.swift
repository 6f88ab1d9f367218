import DNSWire

/// A request's consistent-hashing key, already hashed. The hash is fixed (FNV-1a then a 64-bit
/// finalizer), not Swift's per-process seeded `Hasher`, so every node and every restart maps a key
/// to the same address.
public struct HashKey: Sendable, Hashable {
    public let value: UInt64

    public init(value: UInt64) {
        self.value = value
    }

    /// Hashes the UTF-8 bytes of a header, cookie, path or argument without copying them.
    public init(_ text: some StringProtocol) {
        var h = StableHash()
        for byte in text.utf8 { h.add(byte) }
        self.value = h.finish()
    }

    public init(bytes: some Sequence<UInt8>) {
        var h = StableHash()
        for byte in bytes { h.add(byte) }
        self.value = h.finish()
    }

    public init(ip: IPAddress) {
        var h = StableHash()
        h.add(ip)
        self.value = h.finish()
    }
}

/// FNV-1a 64 with a splitmix64 finalizer: stable across processes and platforms, allocation-free.
struct StableHash {
    private var state: UInt64 = 0xCBF2_9CE4_8422_2325

    @inline(__always)
    mutating func add(_ byte: UInt8) {
        state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    mutating func add(_ word: UInt64, bytes: Int) {
        for i in stride(from: bytes - 1, through: 0, by: -1) {
            add(UInt8(truncatingIfNeeded: word >> UInt64(8 * i)))
        }
    }

    mutating func add(_ ip: IPAddress) {
        switch ip {
        case .v4(let v):
            add(UInt64(v), bytes: 4)
        case .v6(let hi, let lo):
            add(hi, bytes: 8)
            add(lo, bytes: 8)
        }
    }

    mutating func add(_ address: Address) {
        add(address.ip)
        add(UInt64(address.port), bytes: 2)
    }

    func finish() -> UInt64 { StableHash.mix(state) }

    /// splitmix64's finalizer: spreads every input bit over the whole word.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func of(_ address: Address) -> UInt64 {
        var h = StableHash()
        h.add(address)
        return h.finish()
    }
}
