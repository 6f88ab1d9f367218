import Config
import Testing

@Suite("Admin API TLS settings")
struct AdminTLSSettingsTests {
    @Test func sslFlagWithFilesFromEachLayer() throws {
        let file = """
            admin_listen: 127.0.0.1:8444 ssl
            admin_ssl_cert: /etc/switchyard/admin.crt
            """
        let settings = try NodeSettings.load(fileText: file, environment: [
            "SWITCHYARD_ADMIN_SSL_CERT_KEY": "/etc/switchyard/admin.key",
        ], commandLine: SettingsLayer(source: "command line", values: ["admin_ssl_cert": "/run/admin.crt"]))
        #expect(settings.adminListen == [ListenAddress(host: "127.0.0.1", port: 8444, ssl: true)])
        #expect(settings.adminListen.first?.description == "127.0.0.1:8444 ssl")
        #expect(settings.adminSSLCert == "/run/admin.crt")
        #expect(settings.adminSSLCertKey == "/etc/switchyard/admin.key")
    }

    @Test func plainListenerStaysPlain() throws {
        let settings = try NodeSettings.load(fileText: "admin_listen: \"[::1]:8001\"\n", environment: [:])
        #expect(settings.adminListen == [ListenAddress(host: "::1", port: 8001)])
        #expect(settings.adminListen.first?.ssl == false)
        #expect(NodeSettings.defaults.adminSSLCert == nil && NodeSettings.defaults.adminSSLCertKey == nil)
    }

    @Test func sslWithoutCertificateOrKeyNamesBothSettings() {
        do {
            _ = try NodeSettings.load(fileText: nil, environment: ["SWITCHYARD_ADMIN_LISTEN": "127.0.0.1:8444 ssl"])
            Issue.record("an ssl listener without files was accepted")
        } catch {
            let paths = error.issues.map(\.path)
            #expect(paths == ["admin_ssl_cert", "admin_ssl_cert_key"])
            #expect(error.issues.allSatisfy { $0.message.contains("127.0.0.1:8444 ssl") })
        }
    }

    @Test func sslWithCertificateButNoKey() {
        do {
            _ = try NodeSettings.load(fileText: "admin_listen: 127.0.0.1:8444 ssl\nadmin_ssl_cert: a.crt\n", environment: [:])
            Issue.record("an ssl listener without a key was accepted")
        } catch {
            #expect(error.issues.map(\.path) == ["admin_ssl_cert_key"])
        }
    }

    @Test func certificateWithoutKeyIsRefusedEvenWithoutSSL() {
        do {
            _ = try NodeSettings.load(fileText: nil, environment: ["SWITCHYARD_ADMIN_SSL_CERT_KEY": "a.key"])
            Issue.record("a key without a certificate was accepted")
        } catch {
            #expect(error.issues.map(\.path) == ["admin_ssl_cert"])
            #expect(error.issues.first?.message.contains("admin_ssl_cert_key") == true)
        }
    }

    @Test func proxyListenSSLNeedsItsFilesAndAdminListenRejectsUnknownFlags() throws {
        do {
            _ = try NodeSettings.load(fileText: nil, environment: ["SWITCHYARD_PROXY_LISTEN": "0.0.0.0:8000, 0.0.0.0:8443 ssl"])
            Issue.record("an ssl proxy listener without ssl_cert was accepted")
        } catch {
            #expect(error.issues.map(\.path) == ["ssl_cert", "ssl_cert_key"])
            #expect(error.issues.first?.message.contains("0.0.0.0:8443 ssl") == true)
        }
        let settings = try NodeSettings.load(fileText: nil, environment: [
            "SWITCHYARD_PROXY_LISTEN": "0.0.0.0:8000, 0.0.0.0:8443 ssl",
            "SWITCHYARD_SSL_CERT": "/etc/switchyard/proxy.crt", "SWITCHYARD_SSL_CERT_KEY": "/etc/switchyard/proxy.key",
        ])
        #expect(settings.proxyListen.map(\.ssl) == [false, true])
        #expect(settings.sslCert == "/etc/switchyard/proxy.crt")
        do {
            _ = try NodeSettings.load(fileText: nil, environment: ["SWITCHYARD_ADMIN_LISTEN": "127.0.0.1:8444 ssl http2"])
            Issue.record("admin_listen accepted http2")
        } catch {
            #expect(error.issues.first?.message.contains("unknown listen flag \"http2\"") == true)
        }
    }

    @Test func sslFlagIsCaseInsensitiveAndSpacingTolerant() throws {
        let address = try ListenAddress.parse("  127.0.0.1:0   SSL ", anyPort: true, flags: [.ssl]).get()
        #expect(address == ListenAddress(host: "127.0.0.1", port: 0, ssl: true))
    }
}
