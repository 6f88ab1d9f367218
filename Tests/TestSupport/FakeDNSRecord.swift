import DNSWire

/// A resource record for a fake server's answer, written as raw wire pieces so that tests can
/// also build records BIND would never send (wrong RDATA lengths, odd classes, huge TTLs).
public struct FakeDNSRecord: Sendable, Equatable {
    public var name: String
    public var type: UInt16
    public var rrClass: UInt16
    public var ttl: UInt32
    /// RDATA exactly as it goes on the wire.
    public var rdata: [UInt8]
    /// Overrides the RDLENGTH field (which is normally `rdata.count`) to produce a lying length.
    public var rdlengthOverride: UInt16?

    public static let typeA: UInt16 = 1
    public static let typeNS: UInt16 = 2
    public static let typeCNAME: UInt16 = 5
    public static let typeSOA: UInt16 = 6
    public static let typeTXT: UInt16 = 16
    public static let typeAAAA: UInt16 = 28
    public static let typeSRV: UInt16 = 33
    public static let typeOPT: UInt16 = 41

    public init(name: String, type: UInt16, rrClass: UInt16 = 1, ttl: UInt32, rdata: [UInt8],
                rdlengthOverride: UInt16? = nil) {
        self.name = name
        self.type = type
        self.rrClass = rrClass
        self.ttl = ttl
        self.rdata = rdata
        self.rdlengthOverride = rdlengthOverride
    }

    /// An A record for an IPv4 address, or an AAAA record for an IPv6 one.
    public static func address(_ name: String, _ address: IPAddress, ttl: UInt32) -> FakeDNSRecord {
        FakeDNSRecord(name: name, type: address.isIPv6 ? typeAAAA : typeA, ttl: ttl, rdata: address.bytes)
    }

    public static func srv(_ name: String, priority: UInt16, weight: UInt16, port: UInt16, target: String,
                           ttl: UInt32) -> FakeDNSRecord {
        let rdata = be16(priority) + be16(weight) + be16(port) + encodeName(target)
        return FakeDNSRecord(name: name, type: typeSRV, ttl: ttl, rdata: rdata)
    }

    public static func cname(_ name: String, target: String, ttl: UInt32) -> FakeDNSRecord {
        FakeDNSRecord(name: name, type: typeCNAME, ttl: ttl, rdata: encodeName(target))
    }

    /// An SOA record, as sent in the AUTHORITY section of a negative answer; `minimum` bounds how
    /// long the negative answer may be cached.
    public static func soa(_ zone: String, minimum: UInt32, ttl: UInt32, serial: UInt32 = 1) -> FakeDNSRecord {
        let rdata = encodeName("ns." + zone) + encodeName("hostmaster." + zone)
            + be32(serial) + be32(60) + be32(30) + be32(3600) + be32(minimum)
        return FakeDNSRecord(name: zone, type: typeSOA, ttl: ttl, rdata: rdata)
    }

    /// Wire form: owner name (uncompressed), type, class, TTL, RDLENGTH, RDATA.
    public func encoded() -> [UInt8] {
        let length = rdlengthOverride ?? UInt16(truncatingIfNeeded: rdata.count)
        return Self.encodeName(name) + Self.be16(type) + Self.be16(rrClass) + Self.be32(ttl)
            + Self.be16(length) + rdata
    }

    /// Uncompressed wire name. Labels are written as given: one longer than 63 bytes makes a
    /// malformed name on purpose, for hostile-answer tests.
    public static func encodeName(_ name: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for label in name.split(separator: ".", omittingEmptySubsequences: true) {
            let utf8 = Array(label.utf8)
            bytes.append(UInt8(truncatingIfNeeded: utf8.count))
            bytes += utf8
        }
        bytes.append(0)
        return bytes
    }

    static func be16(_ value: UInt16) -> [UInt8] {
        [UInt8(value >> 8), UInt8(value & 0xFF)]
    }

    static func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
