import Testing
import DNSWire

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("10.0.0.1", "10.0.0.1"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"),
        ("::", "::"), ("::1", "::1"), ("2001:DB8::1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("2001:0db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("fe80::", "fe80::"), ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"), ("::ffff:c000:0201", "::ffff:192.0.2.1"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"), ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
    ])
    func parsesAndFormats(text: String, expected: String) throws {
        let address = try #require(IPAddress(text))
        #expect(address.description == expected)
        #expect(IPAddress(address.description) == address)
        #expect(IPAddress(bytes: address.bytes) == address)
    }

    @Test(arguments: [
        "", "1.2.3", "01.2.3.4", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "1.2.3.+4", " 1.2.3.4", "١.2.3.4",
        "::1::", "12345::", ":::", ":1::", "1:2:3:4:5:6:7:8:9", "1::2:3:4:5:6:7:8", "+1::", "::-1", "::g",
        "1:2:3:4:5:6:7", "::1.2.3", "1.2.3.4::", "::ffff:1.2.3.4:1", "fe80::1%eth0", "[::1]",
    ])
    func rejectsInvalidText(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func bytesAreNetworkOrder() {
        #expect(IPAddress("10.0.0.1")?.bytes == [10, 0, 0, 1])
        #expect(IPAddress(bytes: [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]) == IPAddress("2001:db8::1"))
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test func ordersIPv4BeforeIPv6() throws {
        let sorted = try ["::1", "10.0.0.2", "10.0.0.1", "::"].map { try #require(IPAddress($0)) }.sorted()
        #expect(sorted.map(\.description) == ["10.0.0.1", "10.0.0.2", "::", "::1"])
    }

    @Test func hostPortBracketsIPv6() {
        #expect(IPAddress("::1")?.hostPort(80) == "[::1]:80")
        #expect(IPAddress("127.0.0.1")?.hostPort(80) == "127.0.0.1:80")
    }
}
