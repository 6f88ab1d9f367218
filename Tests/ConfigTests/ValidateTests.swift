import Testing
@testable import Config

@Suite("Address syntax")
struct ValidateTests {
    @Test(arguments: ["::1", "::", "2001:db8::1", "1:2:3:4:5:6:7:8", "::ffff:10.0.0.1", "fe80::a:b", "1::"])
    func acceptsIPv6(_ text: String) {
        #expect(Validate.isIPv6(text))
    }

    @Test(arguments: [":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::1", "g::1", "::ffff:10.0.0.256", "1.2.3.4", "fe80::1%eth0"])
    func rejectsIPv6(_ text: String) {
        #expect(!Validate.isIPv6(text))
    }

    @Test(arguments: [("10.0.0.1", true), ("255.255.255.255", true), ("256.0.0.1", false), ("01.0.0.1", false),
                      ("1.2.3", false), ("a.b.c.d", false)])
    func ipv4(_ text: String, _ valid: Bool) {
        #expect(Validate.isIPv4(text) == valid)
    }

    @Test(arguments: [("api.example.com", true), ("_http._tcp.svc.consul", true), ("a-b.c", true), ("-a.b", false),
                      ("a..b", false), ("a b", false), ("example.com.", true), ("", false)])
    func hostnames(_ text: String, _ valid: Bool) {
        #expect(Validate.isHostname(text) == valid)
    }

    @Test(arguments: [("*.example.com", true), ("example.*", true), ("api.example.com:8443", true),
                      ("*.example.com:80", true), ("a.*.com", false), ("*", false), ("*.*", false),
                      ("example.com:0", false), ("[::1]", true)])
    func routeHosts(_ text: String, _ valid: Bool) {
        #expect(Validate.routeHost(text, at: "h").isEmpty == valid)
    }
}
