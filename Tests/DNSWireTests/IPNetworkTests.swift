import DNSWire
import Testing

@Suite("IP networks (CIDR)")
struct IPNetworkTests {
    @Test("blocks contain exactly their addresses", arguments: [
        ("10.0.0.0/8", "10.255.1.2", true), ("10.0.0.0/8", "11.0.0.1", false),
        ("127.0.0.1", "127.0.0.1", true), ("127.0.0.1", "127.0.0.2", false),
        ("0.0.0.0/0", "203.0.113.9", true), ("0.0.0.0/0", "::1", false),
        ("::1/128", "::1", true), ("fd00::/8", "fd12:3456::1", true), ("fd00::/8", "fe80::1", false),
        ("2001:db8::/96", "2001:db8::ffff:1", true), ("2001:db8::/96", "2001:db8:0:0:1::1", false),
    ])
    func contains(block: String, address: String, expected: Bool) throws {
        let network = try #require(IPNetwork(block))
        #expect(network.contains(try #require(IPAddress(address))) == expected)
    }

    @Test("malformed blocks are rejected", arguments: ["10.0.0.1/8", "10.0.0.0/33", "::/129", "10.0.0.0/", "x/8", "10.0.0.0/+8", ""])
    func rejects(text: String) {
        #expect(IPNetwork(text) == nil)
    }
}
