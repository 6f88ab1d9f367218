/// The header and first question of a DNS query, read just far enough for a fake server to decide
/// what to send back. Independent of DNSWire, so fake-server tests do not rely on the parser they test.
public struct FakeDNSQuery: Sendable, Equatable {
    public let id: UInt16
    /// Header flags word (QR, opcode, AA, TC, RD, RA, Z, RCODE).
    public let flags: UInt16
    /// Question name without the trailing dot and with its case as sent (`_http._tcp.api.svc.test`);
    /// empty for the root.
    public let name: String
    public let type: UInt16
    public let rrClass: UInt16
    /// The question exactly as sent (name, type, class), to echo it byte for byte in a response.
    public let questionBytes: [UInt8]

    public var recursionDesired: Bool { flags & 0x0100 != 0 }

    /// Returns nil unless `message` holds a 12-byte header and at least one well-formed question
    /// whose name uses no compression.
    public init?(_ message: [UInt8]) {
        guard message.count >= 12 else { return nil }
        let questionCount = UInt16(message[4]) << 8 | UInt16(message[5])
        guard questionCount >= 1 else { return nil }
        var offset = 12
        var labels: [String] = []
        while true {
            guard offset < message.count else { return nil }
            let length = Int(message[offset])
            offset += 1
            if length == 0 { break }
            guard length <= 63, offset + length <= message.count else { return nil }
            labels.append(String(decoding: message[offset..<offset + length], as: UTF8.self))
            offset += length
        }
        guard offset + 4 <= message.count else { return nil }
        id = UInt16(message[0]) << 8 | UInt16(message[1])
        flags = UInt16(message[2]) << 8 | UInt16(message[3])
        name = labels.joined(separator: ".")
        type = UInt16(message[offset]) << 8 | UInt16(message[offset + 1])
        rrClass = UInt16(message[offset + 2]) << 8 | UInt16(message[offset + 3])
        questionBytes = Array(message[12..<offset + 4])
    }

    /// Builds a standard query (RD set, one question, no EDNS), for sending to a fake server by hand.
    public static func encode(id: UInt16, name: String, type: UInt16, rrClass: UInt16 = 1) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        bytes += FakeDNSRecord.encodeName(name)
        bytes += [UInt8(type >> 8), UInt8(type & 0xFF), UInt8(rrClass >> 8), UInt8(rrClass & 0xFF)]
        return bytes
    }
}
