import DNSWire
import Discovery
import Foundation
import Testing
import TestSupport

/// TSIG checked against a NOTIFY that BIND 9.18 signed, and every way a signature can fail.
@Suite struct TSIGKeyTests {
    static let bindKeyFile = """
        key "testdns-key" {
        \talgorithm hmac-sha256;
        \tsecret "vJtlFNkJh3e81BBPepCAM6y4m12y+i1dwj5gIMpztjI=";
        };
        """

    static func bindNotify() throws -> (TSIGRecord, [UInt8], NotifyMessage) {
        let notify = try NotifyMessage(parsing: NotifyFixtures.bindSigned)
        let tsig = try #require(notify.tsig)
        let signed = try #require(notify.signedMessage)
        return (tsig, signed, notify)
    }

    @Test func readsTheKeyFileTsigKeygenWrites() throws {
        let key = try TSIGKey.parse(Self.bindKeyFile)
        #expect(key.name == "testdns-key")
        #expect(key.algorithm == .hmacSHA256)
    }

    @Test func acceptsTheSignatureBINDMade() throws {
        let key = try TSIGKey.parse(Self.bindKeyFile)
        let (tsig, signed, _) = try Self.bindNotify()
        #expect(key.verify(tsig, signedMessage: signed, now: NotifyFixtures.bindTimeSigned) == .valid)
        #expect(key.verify(tsig, signedMessage: signed, now: NotifyFixtures.bindTimeSigned + 300) == .valid)
        #expect(key.verify(tsig, signedMessage: signed, now: NotifyFixtures.bindTimeSigned - 300) == .valid)
    }

    @Test func refusesOutsideTheFudge() throws {
        let key = try TSIGKey.parse(Self.bindKeyFile)
        let (tsig, signed, _) = try Self.bindNotify()
        #expect(key.verify(tsig, signedMessage: signed, now: NotifyFixtures.bindTimeSigned + 301) == .badTime)
        #expect(key.verify(tsig, signedMessage: signed, now: NotifyFixtures.bindTimeSigned - 301) == .badTime)
    }

    @Test func refusesAnotherSecretNameOrAlgorithm() throws {
        let (tsig, signed, _) = try Self.bindNotify()
        let now = NotifyFixtures.bindTimeSigned
        let otherSecret = TSIGKey(name: "testdns-key", algorithm: .hmacSHA256, secret: Array("another secret".utf8))
        #expect(otherSecret.verify(tsig, signedMessage: signed, now: now) == .badSignature)
        let otherName = TSIGKey(name: "other-key", algorithm: .hmacSHA256, secret: [1, 2, 3])
        #expect(otherName.verify(tsig, signedMessage: signed, now: now) == .badKey)
        let otherAlgorithm = try TSIGKey.parse(Self.bindKeyFile.replacingOccurrences(of: "hmac-sha256", with: "hmac-sha512"))
        #expect(otherAlgorithm.verify(tsig, signedMessage: signed, now: now) == .badKey)
    }

    @Test func refusesAChangedMessageOrMAC() throws {
        let key = try TSIGKey.parse(Self.bindKeyFile)
        let (tsig, signed, _) = try Self.bindNotify()
        var changed = signed
        changed[changed.count - 1] ^= 1
        #expect(key.verify(tsig, signedMessage: changed, now: NotifyFixtures.bindTimeSigned) == .badSignature)
        var truncated = tsig
        truncated.mac = Array(tsig.mac.prefix(16))
        #expect(key.verify(truncated, signedMessage: signed, now: NotifyFixtures.bindTimeSigned) == .badSignature)
    }

    @Test(arguments: TSIGKey.Algorithm.allCases)
    func signedAnswersVerifyWithTheSameKey(algorithm: TSIGKey.Algorithm) throws {
        let key = TSIGKey(name: "Node.Key.", algorithm: algorithm, secret: Array(0..<32))
        // Sign a request the way a primary does, then check it as the listener does.
        let request = DNSMessage(id: 77, opcode: 4, authoritative: true,
                                 questions: [Question(name: "svc.test", type: .soa)]).encoded()
        let signed = key.sign(request, id: 77, requestMAC: nil, now: 1_000_000)
        let notify = try NotifyMessage(parsing: signed)
        let tsig = try #require(notify.tsig)
        #expect(tsig.mac.count == algorithm.macLength)
        #expect(tsig.algorithm == algorithm.wireName)
        #expect(notify.signedMessage == request)
        #expect(key.verify(tsig, signedMessage: request, now: 1_000_010) == .valid)
        let other = TSIGKey(name: "node.key", algorithm: algorithm, secret: Array(1..<33))
        #expect(other.verify(tsig, signedMessage: request, now: 1_000_010) == .badSignature)
    }

    @Test func keyFileErrorsSayWhatIsWrong() {
        let cases: [(String, String)] = [
            ("", "no `key"),
            ("key \"a\" { algorithm hmac-sha224; secret \"AAAA\"; };", "hmac-sha224 is not supported"),
            ("key \"a\" { algorithm hmac-sha256; };", "has no secret"),
            ("key \"a\" { secret \"AAAA\"; };", "names no algorithm"),
            ("key \"a\" { algorithm hmac-sha256; secret \"!!!\"; };", "not base64"),
            ("key \"a\" { algorithm hmac-sha256; secret \"AAAA\";", "not closed"),
            ("key \"a\" { algorithm hmac-sha256; secret \"AAAA\"; }; key \"b\" { };", "more than one key"),
            ("key \"a\" { color blue; };", "unknown clause `color`"),
            ("/* unterminated", "unterminated /* comment"),
        ]
        for (text, expected) in cases {
            do {
                _ = try TSIGKey.parse(text)
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.message.contains(expected), "\(text): \(error.message)")
            }
        }
    }

    @Test func commentsAndMD5AreRead() throws {
        let key = try TSIGKey.parse("""
            # made by tsig-keygen -a hmac-md5
            key "legacy" { // old
                algorithm hmac-md5; /* its wire name is hmac-md5.sig-alg.reg.int */
                secret "c2VjcmV0";
            };
            """)
        #expect(key.algorithm == .hmacMD5)
        #expect(key.algorithm.wireName == "hmac-md5.sig-alg.reg.int")
        #expect(key.mac(Array("x".utf8)).count == 16)
    }
}
