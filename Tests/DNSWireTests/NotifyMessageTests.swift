import Testing
import TestSupport
import DNSWire

/// NOTIFY requests as BIND sends them, the answers RFC 1996 asks for, and every way a NOTIFY can be wrong.
@Suite struct NotifyMessageTests {

    static func unsigned(id: UInt16 = 0x4242, zone: String = "svc.test", serial: UInt32? = 7) -> DNSMessage {
        DNSMessage(id: id, opcode: 4, authoritative: true, questions: [Question(name: zone, type: .soa)],
                   answers: serial.map { [ResourceRecord(name: zone, type: .soa, ttl: 0, data: .soa(SOAData(
                       mname: "ns." + zone, rname: "hostmaster." + zone, serial: $0, refresh: 60, retry: 30,
                       expire: 3600, minimum: 2)))] } ?? [])
    }

    @Test func readsBINDSignedNotify() throws {
        let notify = try NotifyMessage(parsing: NotifyFixtures.bindSigned)
        #expect(notify.id == 0xFF69)
        #expect(notify.zone == "svc.test")
        #expect(notify.serial == 2)
        let tsig = try #require(notify.tsig)
        #expect(tsig.keyName == "testdns-key")
        #expect(tsig.algorithm == "hmac-sha256")
        #expect(tsig.timeSigned == NotifyFixtures.bindTimeSigned)
        #expect(tsig.fudge == 300)
        #expect(tsig.mac.count == 32)
        #expect(tsig.originalID == 0xFF69)
        #expect(tsig.error == 0)
        let signed = try #require(notify.signedMessage)
        // The message without its TSIG record: ARCOUNT 0, and it still parses as the same NOTIFY.
        #expect(Array(signed[10...11]) == [0, 0])
        let plain = try NotifyMessage(parsing: signed)
        #expect(plain.tsig == nil && plain.zone == "svc.test" && plain.serial == 2)
        // The digest input starts with that message and ends with the TSIG variables.
        let data = tsig.signedData(message: signed)
        #expect(Array(data.prefix(signed.count)) == signed)
        #expect(data.count == signed.count + 13 + 2 + 4 + 13 + 6 + 2 + 2 + 2)
    }

    @Test func readsUnsignedNotifyWithoutSerial() throws {
        let notify = try NotifyMessage(parsing: Self.unsigned(zone: "Svc.Test.", serial: nil).encoded())
        #expect(notify.zone == "svc.test")
        #expect(notify.serial == nil)
        #expect(notify.tsig == nil && notify.signedMessage == nil)
    }

    @Test func responseEchoesIDAndQuestion() throws {
        let notify = try NotifyMessage(parsing: Self.unsigned().encoded())
        let answer = try DNSMessage(parsing: notify.response())
        #expect(answer.id == 0x4242)
        #expect(answer.isResponse && answer.authoritative)
        #expect(answer.opcode == 4)
        #expect(answer.rcode == .noError)
        #expect(answer.questions == [Question(name: "svc.test", type: .soa)])
        #expect(answer.answers.isEmpty && answer.additional.isEmpty)
        let refused = try DNSMessage(parsing: notify.response(rcode: .refused))
        #expect(refused.rcode == .refused && !refused.authoritative)
    }

    @Test func tsigRecordRoundTripsThroughAppend() throws {
        let message = Self.unsigned(id: 9).encoded()
        let record = TSIGRecord(keyName: "Key.Example.", algorithm: "hmac-sha512", timeSigned: 0x0001_0203_0405,
                                fudge: 60, mac: Array(repeating: 0xAB, count: 64), originalID: 9, error: 0,
                                otherData: [1, 2, 3, 4, 5, 6])
        let signed = record.appended(to: message)
        let notify = try NotifyMessage(parsing: signed)
        #expect(notify.tsig == record)
        #expect(notify.tsig?.keyName == "key.example")
        #expect(notify.signedMessage == message)
        let parsed = try DNSMessage(parsing: signed)
        #expect(parsed.additional.last?.type == .tsig)
        #expect(parsed.additional.last?.rrClass == 255)
    }

    @Test func originalIDReplacesAChangedHeaderID() throws {
        let record = TSIGRecord(keyName: "k", algorithm: "hmac-sha256", timeSigned: 1, originalID: 0x1111)
        var bytes = record.appended(to: Self.unsigned(id: 0x1111).encoded())
        bytes[0] = 0x22
        bytes[1] = 0x22
        let notify = try NotifyMessage(parsing: bytes)
        #expect(notify.id == 0x2222)
        #expect(notify.signedMessage.map { Array($0.prefix(2)) } == [0x11, 0x11])
    }

    @Test func refusesWhatIsNotANotify() throws {
        var query = DNSMessage.query(id: 5, name: "svc.test", type: .soa)
        #expect(throws: NotifyParseError(.notNotify, id: 5, opcode: 0)) { try NotifyMessage(parsing: query.encoded()) }
        query.opcode = 4
        query.isResponse = true
        #expect(throws: NotifyParseError(.response, id: 5, opcode: 4)) { try NotifyMessage(parsing: query.encoded()) }
        var twoQuestions = Self.unsigned(id: 6)
        twoQuestions.questions.append(Question(name: "other.test", type: .soa))
        let error = #expect(throws: NotifyParseError.self) { try NotifyMessage(parsing: twoQuestions.encoded()) }
        #expect(error?.code == .badQuestion("2 questions, not 1"))
        #expect(error?.id == 6)
        var aQuestion = Self.unsigned(id: 7)
        aQuestion.questions = [Question(name: "svc.test", type: .a)]
        let bad = #expect(throws: NotifyParseError.self) { try NotifyMessage(parsing: aQuestion.encoded()) }
        #expect(bad?.code == .badQuestion("a A question, not SOA IN"))
        #expect(bad?.question == Question(name: "svc.test", type: .a))
    }

    @Test func refusesTSIGThatIsNotLast() throws {
        let record = TSIGRecord(keyName: "k", algorithm: "hmac-sha256", timeSigned: 1, originalID: 1)
        var signed = try DNSMessage(parsing: record.appended(to: Self.unsigned(id: 1).encoded()))
        signed.additional.append(ResourceRecord(name: "x.svc.test", type: .a, ttl: 1, data: .a(.v4(0x7F00_0001))))
        let error = #expect(throws: NotifyParseError.self) { try NotifyMessage(parsing: signed.encoded()) }
        #expect(error?.code == .tsigNotLast)
    }

    @Test func malformedTSIGDataIsMalformed() throws {
        var message = try DNSMessage(parsing: Self.unsigned(id: 3).encoded())
        message.additional = [ResourceRecord(name: "k", type: .tsig, rrClass: 255, ttl: 0, data: .other([0, 1, 2]))]
        let error = #expect(throws: NotifyParseError.self) { try NotifyMessage(parsing: message.encoded()) }
        guard case .malformed = error?.code else {
            Issue.record("expected malformed, got \(String(describing: error))")
            return
        }
        #expect(error?.id == 3)
    }

    @Test func everyPrefixOfTheBINDNotifyThrowsWithoutTrapping() {
        for length in 0..<NotifyFixtures.bindSigned.count {
            let error = #expect(throws: NotifyParseError.self) { try NotifyMessage(parsing: NotifyFixtures.bindSigned.prefix(length)) }
            guard case .malformed = error?.code else {
                Issue.record("prefix \(length): \(String(describing: error))")
                continue
            }
            #expect(length < 12 ? error?.id == nil : error?.id == 0xFF69)
        }
    }

    @Test func seededMutationsNeverTrap() {
        var state: UInt64 = 0x0D15_EA5E
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var parsed = 0
        for _ in 0..<20_000 {
            var bytes = NotifyFixtures.bindSigned
            for _ in 0...(next() % 4) {
                let index = Int(next() % UInt64(bytes.count))
                switch next() % 3 {
                case 0: bytes[index] = UInt8(truncatingIfNeeded: next())
                case 1: bytes.removeSubrange(index...)
                default: bytes.insert(UInt8(truncatingIfNeeded: next()), at: index)
                }
                if bytes.isEmpty { break }
            }
            if let notify = try? NotifyMessage(parsing: bytes) {
                parsed += 1
                _ = notify.response()
                if let tsig = notify.tsig, let signed = notify.signedMessage {
                    _ = tsig.signedData(message: signed, requestMAC: tsig.mac)
                    _ = tsig.appended(to: notify.response())
                }
            }
        }
        #expect(parsed > 0)
    }
}
