import Testing
@testable import Config

@Suite("Node settings")
struct NodeSettingsTests {
    @Test func defaults() throws {
        let s = try NodeSettings.load(fileText: nil, environment: [:])
        #expect(s == NodeSettings.defaults)
        #expect(s.proxyListen.map(\.description) == ["0.0.0.0:8000"])
        #expect(s.adminListen.map(\.description) == ["127.0.0.1:8001"])
        #expect(s.dnsServers.isEmpty && s.workers == 0 && s.logLevel == .info)
        #expect(s.dnsStaleTTL == 3600 && s.dnsNotFoundHold == 30)
    }

    @Test("client_* limits parse, and bad values name the setting and the range")
    func clientLimits() throws {
        let s = try NodeSettings.load(fileText: "client_header_timeout: 2.5\nclient_max_header_size: 4096\n", environment: [
            "SWITCHYARD_CLIENT_KEEPALIVE_TIMEOUT": "5", "SWITCHYARD_CLIENT_MAX_URI_LENGTH": "1024"])
        #expect(s.clientHeaderTimeout == 2.5 && s.clientMaxHeaderSize == 4096)
        #expect(s.clientKeepaliveTimeout == 5 && s.clientMaxURILength == 1024)
        #expect(s.clientBodyTimeout == 60 && s.clientMaxHeaderCount == 100)
        do {
            _ = try NodeSettings.load(fileText: "client_body_timeout: 0\nclient_max_header_count: -1\n", environment: [:])
            Issue.record("accepted bad limits")
        } catch {
            let text = error.issues.map(\.description).joined(separator: "\n")
            #expect(text.contains("client_body_timeout") && text.contains("above 0"), "\(text)")
            #expect(text.contains("client_max_header_count") && text.contains("between 1 and 10000"), "\(text)")
        }
    }

    @Test func precedenceCommandLineOverEnvironmentOverFileOverDefaults() throws {
        let file = """
        proxy_listen: 0.0.0.0:9000
        admin_listen: 127.0.0.1:9001
        workers: 2
        dns_servers: [10.0.0.1, "[::1]:5353"]
        """
        let env = ["SWITCHYARD_ADMIN_LISTEN": "127.0.0.1:7001", "SWITCHYARD_WORKERS": "3", "PATH": "/bin"]
        let cli = SettingsLayer(source: "command line", values: ["workers": "4"])
        let s = try NodeSettings.load(fileText: file, environment: env, commandLine: cli)
        #expect(s.proxyListen == [ListenAddress(host: "0.0.0.0", port: 9000)])  // file
        #expect(s.adminListen == [ListenAddress(host: "127.0.0.1", port: 7001)])  // env
        #expect(s.workers == 4)  // cli
        #expect(s.dnsServers == [ListenAddress(host: "10.0.0.1", port: 53), ListenAddress(host: "::1", port: 5353)])
        #expect(s.database == "switchyard.db")  // default
    }

    @Test func notifySettingsFromEachLayer() throws {
        let defaults = NodeSettings.defaults
        #expect(defaults.dnsNotifyListen == nil)
        #expect(defaults.dnsNotifyAllow == ["127.0.0.0/8", "::1/128"])
        #expect(defaults.dnsNotifyTSIGKey == nil)
        let s = try NodeSettings.load(
            fileText: "dns_notify_listen: 127.0.0.1:5353\ndns_notify_tsig_key: /etc/switchyard/notify.key\n",
            environment: ["SWITCHYARD_DNS_NOTIFY_ALLOW": "10.0.0.0/8, ::1"],
            commandLine: SettingsLayer(source: "command line", values: ["dns_notify_listen": "[::1]:0"]))
        #expect(s.dnsNotifyListen == ListenAddress(host: "::1", port: 0))
        #expect(s.dnsNotifyAllow == ["10.0.0.0/8", "::1"])
        #expect(s.dnsNotifyTSIGKey == "/etc/switchyard/notify.key")
        #expect(!defaults.dnsPreferTCP)
        #expect(try NodeSettings.load(fileText: "dns_prefer_tcp: true\n", environment: [:]).dnsPreferTCP)
        #expect(throws: ConfigError.self) { try NodeSettings.load(fileText: nil, environment: ["SWITCHYARD_DNS_PREFER_TCP": "maybe"]) }
        let off = try NodeSettings.load(fileText: "dns_notify_listen: 127.0.0.1:5353\n",
                                        environment: ["SWITCHYARD_DNS_NOTIFY_LISTEN": "off"])
        #expect(off.dnsNotifyListen == nil)
    }

    @Test func badNotifySettingsAreNamed() {
        do {
            _ = try NodeSettings.load(fileText: "dns_notify_listen: ns.example:53\ndns_notify_allow: 10.0.0.0/33\n",
                                      fileName: "node.yaml", environment: [:])
            Issue.record("expected errors")
        } catch {
            let lines = error.errors.map(\.description)
            #expect(lines.contains { $0.hasPrefix("node.yaml: dns_notify_listen: \"ns.example:53\": the NOTIFY listener needs an IP address") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("node.yaml: dns_notify_allow: \"10.0.0.0/33\": expected an address block") }, "\(lines)")
        }
    }

    @Test func listsFromEnvironmentAreCommaSeparated() throws {
        let s = try NodeSettings.load(fileText: nil, environment: [
            "SWITCHYARD_DNS_SERVERS": "127.0.0.1:53,::1",
            "SWITCHYARD_PROXY_LISTEN": "0.0.0.0:8000, [::]:8000",
        ])
        #expect(s.dnsServers.map(\.description) == ["127.0.0.1:53", "[::1]:53"])
        #expect(s.proxyListen.map(\.description) == ["0.0.0.0:8000", "[::]:8000"])
    }

    @Test func errorsNameTheirSource() {
        do {
            _ = try NodeSettings.load(fileText: "workers: -1\nproxy_lsten: 1\n", fileName: "node.yaml",
                                      environment: ["SWITCHYARD_PROXY_LISTEN": "0.0.0.0", "SWITCHYARD_LOG_LEVEL": "loud"])
            Issue.record("expected errors")
        } catch {
            let lines = error.errors.map(\.description)
            #expect(lines.contains { $0.hasPrefix("node.yaml: proxy_lsten: unknown setting") })
            #expect(lines.contains("SWITCHYARD_PROXY_LISTEN: \"0.0.0.0\": missing port, use HOST:PORT"))
            #expect(lines.contains { $0.hasPrefix("SWITCHYARD_LOG_LEVEL: expected one of trace, debug") })
        }
        do {
            _ = try NodeSettings.load(fileText: "workers: -1\n", environment: [:])
            Issue.record("expected errors")
        } catch {
            #expect(error.errors.map(\.description) == ["settings: workers: expected an integer between 0 and 1024, got \"-1\""])
        }
    }

    @Test func dnsServersMustBeAddresses() {
        #expect(throws: ConfigError.self) {
            try NodeSettings.load(fileText: nil, environment: ["SWITCHYARD_DNS_SERVERS": "dns.example.com"])
        }
    }

    @Test func minTTLCannotExceedMax() {
        #expect(throws: ConfigError.self) {
            try NodeSettings.load(fileText: "dns_min_ttl: 100\ndns_max_ttl: 10\n", environment: [:])
        }
    }

    @Test func unknownEnvironmentVariablesAreListed() {
        #expect(SettingsLayer.unknownEnvironmentVariables(["SWITCHYARD_PROXY_LISTN": "x", "SWITCHYARD_WORKERS": "1",
                                                           "HOME": "/"]) == ["SWITCHYARD_PROXY_LISTN"])
    }

    @Test func mergingLayers() {
        let low = SettingsLayer(source: "a", values: ["workers": "1", "database": "x.db"])
        let high = SettingsLayer(source: "b", values: ["workers": "2"])
        #expect(low.merging(high).values == ["workers": "2", "database": "x.db"])
    }

    @Test(arguments: [
        ("0.0.0.0:8000", "0.0.0.0", 8000),
        ("[::1]:8001", "::1", 8001),
        ("localhost:80", "localhost", 80),
        ("[::]:65535", "::", 65535),
    ])
    func listenAddressParses(text: String, host: String, port: Int) throws {
        let address = try ListenAddress.parse(text).get()
        #expect(address.host == host && address.port == port)
    }

    @Test(arguments: [
        ("8000", "missing port"),
        (":8000", "missing host"),
        ("0.0.0.0:0", "invalid port"),
        ("0.0.0.0:70000", "invalid port"),
        ("::1:8000", "brackets"),
        ("[::1:8000", "missing ']'"),
        ("[zz::1]:80", "invalid IPv6"),
        ("0.0.0.0:8443 ssl", "flags"),
        ("bad_host!:80", "invalid host"),
    ])
    func listenAddressRejects(text: String, fragment: String) {
        switch ListenAddress.parse(text) {
        case .success(let address): Issue.record("accepted \(address)")
        case .failure(let error): #expect(error.message.contains(fragment), "\(error.message)")
        }
    }
}

@Suite("Node settings files")
struct NodeSettingsFileTests {
    @Test func emptyFileGivesDefaults() throws {
        #expect(try NodeSettings.load(fileText: "", environment: [:]) == NodeSettings.defaults)
        #expect(try NodeSettings.load(fileText: "# only a comment\n", environment: [:]) == NodeSettings.defaults)
    }
}

@Suite("Node settings values")
struct NodeSettingsValueTests {
    @Test func adminListenOff() throws {
        #expect(try NodeSettings.load(fileText: "admin_listen: off\n", environment: [:]).adminListen.isEmpty)
        #expect(try NodeSettings.load(fileText: nil, environment: ["SWITCHYARD_ADMIN_LISTEN": "off"]).adminListen.isEmpty)
        #expect(throws: ConfigError.self) {
            try NodeSettings.load(fileText: nil, environment: ["SWITCHYARD_PROXY_LISTEN": "off"])
        }
    }

    @Test func fractionalSecondsAndLogLevel() throws {
        let s = try NodeSettings.load(fileText: "dns_min_ttl: 0.5\nlog_level: DEBUG\n", environment: [:])
        #expect(s.dnsMinTTL == 0.5 && s.logLevel == .debug)
    }
}
