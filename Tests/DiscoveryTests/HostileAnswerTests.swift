import DNSWire
import Discovery
import Foundation
import Testing
import TestSupport

/// Answers BIND would never send: the resolver reports a clear error and keeps working.
@Suite("Hostile DNS answers")
struct HostileAnswerTests {
    /// A fake server whose behaviour is chosen by the first label of the question.
    static func hostileServer(tcp: Bool = false) throws -> FakeDNSServer {
        try FakeDNSServer(tcp: tcp) { bytes, _ in
            guard let query = FakeDNSQuery(bytes) else { return [] }
            let label = query.name.split(separator: ".").first.map(String.init) ?? ""
            var good = FakeDNSResponse(answering: query, answers: [.address(query.name, IPAddress("127.0.0.5")!, ttl: 30)])
            switch label {
            case "good":
                return [good.encoded()]
            case "malformed":
                // Claims one answer whose RDATA length runs past the end of the message.
                good.answers = [FakeDNSRecord(name: query.name, type: FakeDNSRecord.typeA, ttl: 30, rdata: [127, 0, 0, 1],
                                              rdlengthOverride: 200)]
                return [good.encoded()]
            case "badlength":
                // An A record with 3 bytes of address.
                good.answers = [FakeDNSRecord(name: query.name, type: FakeDNSRecord.typeA, ttl: 30, rdata: [127, 0, 1])]
                return [good.encoded()]
            case "truncated":
                good.truncated = true
                good.answers = []
                return [good.encoded()]
            case "wrongid":
                good.id = query.id &+ 1
                return [good.encoded()]
            case "oversized":
                good.answers = (0..<600).map { .address(query.name, IPAddress("127.0.\($0 / 250).\($0 % 250 + 1)")!, ttl: 30) }
                return [good.encoded()]
            case "servfail":
                return [FakeDNSResponse(answering: query, rcode: FakeDNSResponse.serverFailure).encoded()]
            case "refused":
                return [FakeDNSResponse(answering: query, rcode: FakeDNSResponse.refused).encoded()]
            case "garbage":
                return [Array(bytes.prefix(2)) + [0x81, 0x80, 0xFF, 0xFF, 0xFF, 0xFF]]
            default:
                return []
            }
        }
    }

    func expectError(_ resolver: DNSResolver, _ name: String, _ codes: Set<DiscoveryError.Code>) async {
        let error = await #expect(throws: DiscoveryError.self, "\(name)") {
            try await resolver.resolveAddresses(name, families: .ipv4)
        }
        if let error {
            #expect(codes.contains(error.code), "\(name): \(error.code) \(error.message)")
            #expect(!error.message.isEmpty)
        }
    }

    @Test("each hostile answer gives a clear error, and the next good query still works")
    func hostileAnswers() async throws {
        let server = try Self.hostileServer()
        defer { server.stop() }
        let resolver = try makeResolver(server: "127.0.0.1:\(server.port)", timeout: .milliseconds(150), tries: 1)
        defer { resolver.shutdown() }
        let cases: [(String, Set<DiscoveryError.Code>)] = [
            ("malformed.x.test", [.malformed]),
            ("badlength.x.test", [.malformed]),
            ("truncated.x.test", [.connectionRefused]),
            ("wrongid.x.test", [.timeout]),
            ("servfail.x.test", [.servfail]),
            ("refused.x.test", [.refused]),
            ("garbage.x.test", [.malformed, .timeout]),
            ("silent.x.test", [.timeout]),
        ]
        for (name, codes) in cases {
            await expectError(resolver, name, codes)
            let good = try await resolver.resolveAddresses("good.x.test", families: .ipv4)
            #expect(good.addresses == [IPAddress("127.0.0.5")!], "after \(name)")
        }
    }

    @Test("an oversized UDP answer does not crash the loop")
    func oversizedAnswer() async throws {
        let server = try Self.hostileServer()
        defer { server.stop() }
        let resolver = try makeResolver(server: "127.0.0.1:\(server.port)", timeout: .milliseconds(150), tries: 1)
        defer { resolver.shutdown() }
        do {
            let lookup = try await resolver.resolveAddresses("oversized.x.test", families: .ipv4)
            #expect(lookup.addresses.count == 600)
        } catch {
            #expect([.malformed, .timeout, .connectionRefused].contains(error.code), "\(error)")
        }
        let good = try await resolver.resolveAddresses("good.x.test", families: .ipv4)
        #expect(good.addresses == [IPAddress("127.0.0.5")!])
    }

    @Test("random corruptions of a valid answer never crash the resolver", .timeLimit(.minutes(1)))
    func corruptedAnswers() async throws {
        var generator = SeededGenerator(seed: 0x5EED)
        let mutations = (0..<150).map { _ in (UInt16.random(in: 0...60, using: &generator), UInt8.random(in: 0...255, using: &generator)) }
        let plan = MutationPlan(mutations)
        let server = try FakeDNSServer(tcp: false) { bytes, _ in
            guard let query = FakeDNSQuery(bytes) else { return [] }
            var response = FakeDNSResponse(answering: query, answers: [.address(query.name, IPAddress("127.0.0.6")!, ttl: 30),
                                                                       .cname(query.name, target: "other.x.test", ttl: 5)]).encoded()
            guard let index = Int(query.name.split(separator: ".").first?.dropFirst(1) ?? ""),
                  let (offset, value) = plan.mutation(index) else { return [response] }
            let at = 12 + Int(offset) % max(response.count - 12, 1)
            response[at] = value
            return [response]
        }
        defer { server.stop() }
        let resolver = try makeResolver(server: "127.0.0.1:\(server.port)", timeout: .milliseconds(100), tries: 1)
        defer { resolver.shutdown() }
        var outcomes: [String: Int] = [:]
        for i in 0..<mutations.count {
            do {
                _ = try await resolver.resolveAddresses("m\(i).x.test", families: .ipv4)
                outcomes["ok", default: 0] += 1
            } catch {
                outcomes[error.code.rawValue, default: 0] += 1
            }
        }
        #expect(outcomes.values.reduce(0, +) == mutations.count)
        let good = try await resolver.resolveAddresses("good.x.test", families: .ipv4)
        #expect(good.addresses == [IPAddress("127.0.0.6")!])
    }
}

/// The mutation for each numbered query, shared with the server's handler.
struct MutationPlan: Sendable {
    let mutations: [(UInt16, UInt8)]
    init(_ mutations: [(UInt16, UInt8)]) { self.mutations = mutations }
    func mutation(_ index: Int) -> (UInt16, UInt8)? { mutations.indices.contains(index) ? mutations[index] : nil }
}

