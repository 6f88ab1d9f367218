/// A bounds-checked cursor over a received message. Every read either returns or throws; offsets
/// in errors are from the start of the message.
struct WireReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func u8() throws(DNSWireError) -> UInt8 {
        guard offset < bytes.count else { throw DNSWireError(.truncated, at: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(DNSWireError) -> UInt16 {
        guard offset + 2 <= bytes.count else { throw DNSWireError(.truncated, at: offset) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() throws(DNSWireError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw DNSWireError(.truncated, at: offset) }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    mutating func take(_ count: Int) throws(DNSWireError) -> [UInt8] {
        guard count >= 0, offset + count <= bytes.count else { throw DNSWireError(.truncated, at: offset) }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func name() throws(DNSWireError) -> String {
        let (name, end) = try DNSName.read(from: bytes, at: offset)
        offset = end
        return name
    }

    mutating func question() throws(DNSWireError) -> Question {
        let name = try name()
        let type = RecordType(rawValue: try u16())
        let rrClass = try u16()
        return Question(name: name, type: type, rrClass: rrClass)
    }

    mutating func records(count: UInt16) throws(DNSWireError) -> [ResourceRecord] {
        var records: [ResourceRecord] = []
        for _ in 0..<count {
            records.append(try record())
        }
        return records
    }

    mutating func record() throws(DNSWireError) -> ResourceRecord {
        let name = try name()
        let type = RecordType(rawValue: try u16())
        let rrClass = try u16()
        let rawTTL = try u32()
        let lengthOffset = offset
        let length = Int(try u16())
        let start = offset
        guard start + length <= bytes.count else { throw DNSWireError(.truncated, at: lengthOffset) }
        let data = try recordData(type: type, rrClass: rrClass, start: start, end: start + length,
                                  lengthOffset: lengthOffset)
        offset = start + length
        // RFC 2181 §8: a TTL with the top bit set is treated as 0. OPT's TTL holds EDNS flags.
        let ttl = type != .opt && rawTTL & 0x8000_0000 != 0 ? 0 : rawTTL
        return ResourceRecord(name: name, type: type, rrClass: rrClass, ttl: ttl, data: data)
    }

    private func recordData(type: RecordType, rrClass: UInt16, start: Int, end: Int,
                            lengthOffset: Int) throws(DNSWireError) -> RecordData {
        let badLength = DNSWireError(.badRecordLength, at: lengthOffset)
        let length = end - start
        guard rrClass == ResourceRecord.internetClass else { return .other(Array(bytes[start..<end])) }
        var rdata = WireReader(bytes, offset: start)
        switch type {
        case .a, .aaaa:
            guard length == (type == .a ? 4 : 16),
                  let address = IPAddress(bytes: bytes[start..<end]) else { throw badLength }
            return type == .a ? .a(address) : .aaaa(address)
        case .cname, .ns, .ptr:
            let name = try rdata.name()
            guard rdata.offset == end else { throw badLength }
            return type == .cname ? .cname(name) : type == .ns ? .ns(name) : .ptr(name)
        case .mx:
            guard length >= 3 else { throw badLength }
            let preference = try rdata.u16()
            let exchange = try rdata.name()
            guard rdata.offset == end else { throw badLength }
            return .mx(preference: preference, exchange: exchange)
        case .srv:
            guard length >= 7 else { throw badLength }
            let priority = try rdata.u16()
            let weight = try rdata.u16()
            let port = try rdata.u16()
            let target = try rdata.name()
            guard rdata.offset == end else { throw badLength }
            return .srv(SRVData(priority: priority, weight: weight, port: port, target: target))
        case .soa:
            let mname = try rdata.name()
            let rname = try rdata.name()
            guard rdata.offset + 20 == end else { throw badLength }
            return .soa(SOAData(mname: mname, rname: rname, serial: try rdata.u32(),
                                refresh: try rdata.u32(), retry: try rdata.u32(),
                                expire: try rdata.u32(), minimum: try rdata.u32()))
        default:
            return .other(Array(bytes[start..<end]))
        }
    }

    private init(_ bytes: [UInt8], offset: Int) {
        self.bytes = bytes
        self.offset = offset
    }
}
