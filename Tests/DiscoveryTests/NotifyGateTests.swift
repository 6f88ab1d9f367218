import DNSWire
import Discovery
import Testing
import TestSupport

/// What the NOTIFY listener answers to each kind of packet, decided without a socket.
@Suite struct NotifyGateTests {
    static let loopback = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]
    static let source = IPAddress("127.0.0.1")!
    static let now = NotifyFixtures.bindTimeSigned
    static func watched(_ zone: String) -> Bool { zone == "svc.test" }

    func decide(_ gate: NotifyGate, _ bytes: [UInt8], from source: IPAddress = Self.source,
                now: UInt64 = Self.now) -> NotifyGate.Decision {
        gate.decide(bytes, from: source, now: now, isWatched: Self.watched)
    }

    func answer(_ decision: NotifyGate.Decision) throws -> DNSMessage {
        try DNSMessage(parsing: try #require(decision.reply))
    }

    @Test func acceptsAnUnsignedNotifyForAWatchedZone() throws {
        let decision = decide(NotifyGate(allow: Self.loopback), NotifyFixtures.unsignedNotify(id: 9))
        #expect(decision.outcome == .accepted)
        #expect(decision.zone == "svc.test")
        let reply = try answer(decision)
        #expect(reply.id == 9 && reply.isResponse && reply.opcode == 4 && reply.rcode == .noError && reply.authoritative)
    }

    @Test func acceptsBINDsSignedNotifyAndSignsTheAnswer() throws {
        let key = try TSIGKey.parse(TSIGKeyTests.bindKeyFile)
        let decision = decide(NotifyGate(allow: Self.loopback, key: key), NotifyFixtures.bindSigned)
        #expect(decision.outcome == .accepted)
        let bytes = try #require(decision.reply)
        let reply = try DNSMessage(parsing: bytes)
        #expect(reply.rcode == .noError)
        // The answer's TSIG covers the request's MAC, then the answer: check it as BIND would.
        let tsigRecord = try #require(reply.additional.last)
        #expect(tsigRecord.type == .tsig)
        var requestSide = bytes
        requestSide[2] &= 0x7F
        let parsed = try NotifyMessage(parsing: requestSide)
        let tsig = try #require(parsed.tsig)
        var unsigned = try #require(parsed.signedMessage)
        unsigned[2] |= 0x80
        let request = try #require(try NotifyMessage(parsing: NotifyFixtures.bindSigned).tsig)
        #expect(tsig.mac == key.mac(tsig.signedData(message: unsigned, requestMAC: request.mac)))
    }

    @Test func refusesASourceOutsideTheAllowList() throws {
        let gate = NotifyGate(allow: [IPNetwork("10.0.0.0/8")!])
        let decision = decide(gate, NotifyFixtures.unsignedNotify())
        #expect(decision.outcome == .sourceRefused)
        #expect(try answer(decision).rcode == .refused)
        #expect(decide(gate, NotifyFixtures.unsignedNotify(), from: IPAddress("10.1.2.3")!).outcome == .accepted)
        #expect(decide(NotifyGate(allow: []), NotifyFixtures.unsignedNotify()).outcome == .sourceRefused)
    }

    @Test func refusesAZoneWithoutWatchedNames() throws {
        let decision = decide(NotifyGate(allow: Self.loopback), NotifyFixtures.unsignedNotify(zone: "other.test"))
        #expect(decision.outcome == .unknownZone)
        #expect(try answer(decision).rcode == .refused)
        #expect(decide(NotifyGate(allow: Self.loopback), NotifyFixtures.unsignedNotify(zone: "")).outcome == .unknownZone)
    }

    @Test func requiresASignatureWhenAKeyIsSet() throws {
        let key = try TSIGKey.parse(TSIGKeyTests.bindKeyFile)
        let decision = decide(NotifyGate(allow: Self.loopback, key: key), NotifyFixtures.unsignedNotify())
        #expect(decision.outcome == .unsigned)
        #expect(try answer(decision).rcode == .refused)
    }

    @Test func badSignaturesGetNotAuthWithTheTSIGError() throws {
        let wrongSecret = TSIGKey(name: "testdns-key", algorithm: .hmacSHA256, secret: Array("wrong".utf8))
        let badSig = decide(NotifyGate(allow: Self.loopback, key: wrongSecret), NotifyFixtures.bindSigned)
        #expect(badSig.outcome == .badSignature)
        #expect(try answer(badSig).rcode == .notAuth)
        #expect(try tsigError(badSig) == TSIGRecord.ErrorCode.badSig)

        let wrongName = TSIGKey(name: "other", algorithm: .hmacSHA256, secret: Array("wrong".utf8))
        let badKey = decide(NotifyGate(allow: Self.loopback, key: wrongName), NotifyFixtures.bindSigned)
        #expect(badKey.outcome == .badKey)
        #expect(try tsigError(badKey) == TSIGRecord.ErrorCode.badKey)

        let noKey = decide(NotifyGate(allow: Self.loopback), NotifyFixtures.bindSigned)
        #expect(noKey.outcome == .badKey)
        #expect(try answer(noKey).rcode == .notAuth)

        let key = try TSIGKey.parse(TSIGKeyTests.bindKeyFile)
        let late = decide(NotifyGate(allow: Self.loopback, key: key), NotifyFixtures.bindSigned, now: Self.now + 3600)
        #expect(late.outcome == .badTime)
        #expect(try tsigError(late) == TSIGRecord.ErrorCode.badTime)
    }

    @Test func dropsMalformedPacketsAndResponses() throws {
        let gate = NotifyGate(allow: Self.loopback)
        for bytes in [[], [1, 2, 3], Array(NotifyFixtures.bindSigned.prefix(40)),
                      Array(NotifyFixtures.unsignedNotify().prefix(20))] as [[UInt8]] {
            let decision = decide(gate, bytes)
            #expect(decision.outcome == .malformed, "\(bytes.count) bytes")
            #expect(decision.reply == nil)
        }
        var response = NotifyFixtures.unsignedNotify()
        response[2] |= 0x80
        let decision = decide(gate, response)
        #expect(decision.outcome == .response && decision.reply == nil)
        #expect(decide(gate, Array(repeating: 0xFF, count: 64)).outcome == .response)
    }

    @Test func refusesOtherOpcodesAndQuestions() throws {
        let gate = NotifyGate(allow: Self.loopback)
        let query = decide(gate, DNSMessage.query(id: 3, name: "svc.test", type: .soa).encoded())
        #expect(query.outcome == .notNotify)
        #expect(try answer(query).rcode == .refused)
        let aQuestion = DNSMessage(id: 4, opcode: 4, questions: [Question(name: "svc.test", type: .a)]).encoded()
        #expect(decide(gate, aQuestion).outcome == .notNotify)
        #expect(decide(NotifyGate(allow: []), aQuestion).outcome == .sourceRefused)
    }

    func tsigError(_ decision: NotifyGate.Decision) throws -> UInt16 {
        let reply = try answer(decision)
        let record = try #require(reply.additional.last)
        #expect(record.type == .tsig)
        guard case .other(let rdata) = record.data else { throw TestFailure() }
        // RDATA: algorithm name, time (6), fudge (2), MAC size (2), MAC, original ID (2), error (2), other.
        var index = 0
        while index < rdata.count, rdata[index] != 0 { index += Int(rdata[index]) + 1 }
        index += 1 + 6 + 2
        guard index + 2 <= rdata.count else { throw TestFailure() }
        let macSize = Int(UInt16(rdata[index]) << 8 | UInt16(rdata[index + 1]))
        index += 2 + macSize + 2
        guard index + 2 <= rdata.count else { throw TestFailure() }
        return UInt16(rdata[index]) << 8 | UInt16(rdata[index + 1])
    }

    struct TestFailure: Error {}
}

/// At most one refresh per zone per interval, and no NOTIFY lost.
@Suite struct ZoneRefreshLimiterTests {
    @Test func aStormCostsOneRefreshPerInterval() {
        var limiter = ZoneRefreshLimiter(interval: .milliseconds(100))
        let t0 = ContinuousClock.now
        #expect(limiter.notified(zone: "svc.test", now: t0) == .refreshNow)
        #expect(limiter.notified(zone: "svc.test", now: t0 + .milliseconds(10)) == .refreshAt(t0 + .milliseconds(100)))
        for step in 2..<50 {
            #expect(limiter.notified(zone: "svc.test", now: t0 + .milliseconds(step)) == .coalesced)
        }
        // Other zones are limited on their own.
        #expect(limiter.notified(zone: "other.test", now: t0 + .milliseconds(20)) == .refreshNow)
        limiter.scheduledRefreshStarted(zone: "svc.test", now: t0 + .milliseconds(100))
        #expect(limiter.notified(zone: "svc.test", now: t0 + .milliseconds(150)) == .refreshAt(t0 + .milliseconds(200)))
        limiter.scheduledRefreshStarted(zone: "svc.test", now: t0 + .milliseconds(200))
        #expect(limiter.notified(zone: "svc.test", now: t0 + .milliseconds(300)) == .refreshNow)
    }

    @Test func refreshesInAnyWindowNeverComeCloserThanTheInterval() {
        var limiter = ZoneRefreshLimiter(interval: .milliseconds(100))
        let t0 = ContinuousClock.now
        var refreshes: [ContinuousClock.Instant] = []
        var pending: ContinuousClock.Instant?
        // A NOTIFY every 7 ms for 2 s.
        for step in 0..<286 {
            let now = t0 + .milliseconds(step * 7)
            if let due = pending, due <= now {
                limiter.scheduledRefreshStarted(zone: "z", now: due)
                refreshes.append(due)
                pending = nil
            }
            switch limiter.notified(zone: "z", now: now) {
            case .refreshNow: refreshes.append(now)
            case .refreshAt(let due): pending = due
            case .coalesced: break
            }
        }
        #expect(refreshes.count >= 19 && refreshes.count <= 21, "\(refreshes.count)")
        for (a, b) in zip(refreshes, refreshes.dropFirst()) {
            #expect(b - a >= .milliseconds(100))
        }
    }
}
