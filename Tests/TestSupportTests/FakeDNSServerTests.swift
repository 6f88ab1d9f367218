import DNSWire
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite("FakeDNSServer")
struct FakeDNSServerTests {
    @Test func answersAHandBuiltQueryOverUDP() throws {
        let server = try FakeDNSServer { query in
            guard let question = FakeDNSQuery(query) else { return [] }
            let address = IPAddress("127.0.0.9") ?? .v4(0)
            return [FakeDNSResponse(answering: question, answers: [.address(question.name, address, ttl: 30)]).encoded()]
        }
        defer { server.stop() }

        // Header: ID 0xBEEF, RD; one question: api.svc.test A IN.
        let query: [UInt8] = [0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                              3, 0x61, 0x70, 0x69, 3, 0x73, 0x76, 0x63, 4, 0x74, 0x65, 0x73, 0x74, 0,
                              0, 1, 0, 1]
        let reply = try #require(try LoopbackClient.udpExchange(query, port: server.port))
        #expect(Array(reply[0..<2]) == [0xBE, 0xEF])
        #expect(reply[2] & 0x80 != 0) // QR
        #expect(Array(reply[4..<8]) == [0, 1, 0, 1]) // one question, one answer
        #expect(Array(reply[12..<30]) == Array(query[12..<30])) // question echoed
        #expect(Array(reply.suffix(10)) == [0, 0, 0, 30, 0, 4, 127, 0, 0, 9]) // TTL, RDLENGTH, RDATA
        #expect(server.receivedQueries == [.init(bytes: query, transport: .udp)])
    }

    @Test func readsTheQuestionOfAQuery() throws {
        let query = FakeDNSQuery.encode(id: 0x1234, name: "_http._tcp.API.svc.test", type: FakeDNSRecord.typeSRV)
        let parsed = try #require(FakeDNSQuery(query))
        #expect(parsed.id == 0x1234)
        #expect(parsed.name == "_http._tcp.API.svc.test")
        #expect(parsed.type == 33)
        #expect(parsed.rrClass == 1)
        #expect(parsed.recursionDesired)
        #expect(FakeDNSQuery(Array(query.prefix(20))) == nil)
        #expect(FakeDNSQuery([0, 1, 2]) == nil)
    }

    @Test func digUnderstandsItsAnswers() throws {
        let server = try FakeDNSServer { query in
            guard let question = FakeDNSQuery(query) else { return [] }
            var response = FakeDNSResponse(answering: question, answers: [
                .srv(question.name, priority: 10, weight: 5, port: 9001, target: "b1.svc.test", ttl: 42),
            ])
            response.additional = [.address("b1.svc.test", IPAddress("::1") ?? .v4(0), ttl: 7)]
            return [response.encoded()]
        }
        defer { server.stop() }
        let output = try LoopbackClient.dig(["-p", String(server.port), "@127.0.0.1", "_x._tcp.svc.test", "SRV"])
        let answer = TestDNSAnswer(digOutput: output)
        #expect(answer.status == "NOERROR")
        #expect(answer.answer == [.init(name: "_x._tcp.svc.test.", ttl: 42, type: "SRV", data: "10 5 9001 b1.svc.test.")])
        #expect(answer.additional == [.init(name: "b1.svc.test.", ttl: 7, type: "AAAA", data: "::1")])
    }

    @Test func truncatedOverUDPThenFullOverTCP() throws {
        let server = try FakeDNSServer(tcp: true) { query, transport in
            guard let question = FakeDNSQuery(query) else { return [] }
            var response = FakeDNSResponse(answering: question)
            if transport == .udp {
                response.truncated = true
            } else {
                response.answers = (1...3).map {
                    .address(question.name, IPAddress("127.0.0.\($0)") ?? .v4(0), ttl: 5)
                }
            }
            return [response.encoded()]
        }
        defer { server.stop() }
        // dig follows TC=1 by asking again over TCP.
        let output = try LoopbackClient.dig(["-p", String(server.port), "@127.0.0.1", "many.svc.test", "A"])
        let answer = TestDNSAnswer(digOutput: output)
        #expect(answer.answer.map(\.data).sorted() == ["127.0.0.1", "127.0.0.2", "127.0.0.3"])
        #expect(server.receivedQueries.map(\.transport) == [.udp, .tcp])
    }

    @Test func silentHandlerSendsNothing() throws {
        let server = try FakeDNSServer { _ in [] }
        defer { server.stop() }
        let query = FakeDNSQuery.encode(id: 7, name: "quiet.svc.test", type: 1)
        #expect(try LoopbackClient.udpExchange(query, port: server.port, timeoutMilliseconds: 300) == nil)
        #expect(server.receivedQueries.count == 1)
    }

    @Test func severalDatagramsPerQuery() throws {
        let server = try FakeDNSServer { query in
            guard let question = FakeDNSQuery(query) else { return [] }
            var wrongID = FakeDNSResponse(answering: question, rcode: FakeDNSResponse.serverFailure)
            wrongID.id = question.id &+ 1
            return [wrongID.encoded(), FakeDNSResponse(answering: question, rcode: FakeDNSResponse.nameError).encoded()]
        }
        defer { server.stop() }
        let query = FakeDNSQuery.encode(id: 100, name: "spoof.svc.test", type: 1)
        let replies = try LoopbackClient.udpExchangeAll(query, port: server.port, count: 2)
        #expect(replies.map { UInt16($0[0]) << 8 | UInt16($0[1]) } == [101, 100])
        #expect(replies.map { $0[3] & 0x0F } == [2, 3])
    }

    @Test func stopReleasesThePort() throws {
        let server = try FakeDNSServer { _ in [] }
        let port = server.port
        server.stop()
        server.stop()
        let again = try LoopbackClient.canBindUDP(port: port)
        #expect(again)
    }
}
