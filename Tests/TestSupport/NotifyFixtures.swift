import DNSWire

/// A NOTIFY for svc.test (serial 2) captured from BIND 9.18 (`also-notify { 127.0.0.1 port P key
/// "testdns-key"; }`) after an nsupdate, signed with hmac-sha256.
public enum NotifyFixtures {
    public static let bindSigned = hex("""
        ff69240000010001000000010373766304746573740000060001c00c00060001000000000026026e73c00c0a686f73746d617374\
        6572c00c000000020000003c0000001e00000e10000000020b74657374646e732d6b65790000fa00ff00000000003d0b686d6163\
        2d7368613235360000006b11672a012c0020132a953bb114dbde6dfe07219dccde2110d766906acd98027013d27412e34bd4ff69\
        00000000
        """)
    /// The hmac-sha256 secret of `testdns-key` that signed `bindSigned`.
    public static let bindSecretBase64 = "vJtlFNkJh3e81BBPepCAM6y4m12y+i1dwj5gIMpztjI="
    public static let bindTimeSigned: UInt64 = 1_796_302_634

    public static func hex(_ text: String) -> [UInt8] {
        let digits = Array(text.utf8).filter { !$0.isWhitespace }
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16) }
    }

    public static func unsignedNotify(id: UInt16 = 0x4242, zone: String = "svc.test") -> [UInt8] {
        DNSMessage(id: id, opcode: 4, authoritative: true, questions: [Question(name: zone, type: .soa)]).encoded()
    }
}

private extension UInt8 {
    var isWhitespace: Bool { self == 0x20 || self == 0x0A || self == 0x09 || self == 0x0D }
}
