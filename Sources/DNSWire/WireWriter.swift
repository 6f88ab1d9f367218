/// Builds an uncompressed message. Counts and lengths that do not fit their 16-bit fields are
/// clamped so the output is always well formed.
struct WireWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) {
        bytes.append(value)
    }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    mutating func append(_ values: some Sequence<UInt8>) {
        bytes.append(contentsOf: values)
    }

    mutating func name(_ name: String) {
        for label in DNSName.wireLabels(of: name) {
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
    }

    mutating func question(_ question: Question) {
        name(question.name)
        u16(question.type.rawValue)
        u16(question.rrClass)
    }

    mutating func record(_ record: ResourceRecord) {
        name(record.name)
        u16(record.type.rawValue)
        u16(record.rrClass)
        u32(record.ttl)
        let lengthOffset = bytes.count
        u16(0)
        let start = bytes.count
        switch record.data {
        case .a(let address), .aaaa(let address):
            bytes.append(contentsOf: address.bytes)
        case .cname(let target), .ns(let target), .ptr(let target):
            name(target)
        case .mx(let preference, let exchange):
            u16(preference)
            name(exchange)
        case .srv(let srv):
            u16(srv.priority)
            u16(srv.weight)
            u16(srv.port)
            name(srv.target)
        case .soa(let soa):
            name(soa.mname)
            name(soa.rname)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
                u32(value)
            }
        case .other(let data):
            bytes.append(contentsOf: data.prefix(Int(UInt16.max)))
        }
        let length = UInt16(bytes.count - start)
        bytes[lengthOffset] = UInt8(length >> 8)
        bytes[lengthOffset + 1] = UInt8(truncatingIfNeeded: length)
    }
}
