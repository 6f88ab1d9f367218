import Testing
import TestSupport
import DNSWire

/// Hostile and damaged input must end in a return or a thrown `DNSWireError`, never a trap or a hang.
@Suite struct RobustnessTests {
    @Test func everyPrefixOfAValidMessageThrowsTruncated() throws {
        for fixture in Fixtures.all {
            _ = try DNSMessage(parsing: fixture)
            for length in 0..<fixture.count {
                let error = #expect(throws: DNSWireError.self) { try DNSMessage(parsing: fixture.prefix(length)) }
                #expect(error?.code == .truncated, "prefix \(length) of \(fixture.count)")
                #expect((0...length).contains(error?.offset ?? -1))
            }
        }
    }

    @Test func seededMutationsNeverTrap() {
        var rng = SeededGenerator(seed: 0x5EED_D15C)
        let bases = Fixtures.all
        var parsed = 0, rejected = 0
        var codes: Set<DNSWireError.Code> = []
        for _ in 0..<20_000 {
            var bytes = bases[Int.random(in: 0..<bases.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                mutate(&bytes, using: &rng)
            }
            do {
                let message = try DNSMessage(parsing: bytes)
                parsed += 1
                // Whatever parses must survive a round trip and the extraction helpers.
                let again = try DNSMessage(parsing: message.encoded())
                #expect(again == message)
                let name = message.questions.first?.name ?? "api.test"
                _ = message.addressAnswer(for: name, type: .a)
                _ = message.serviceAnswer(for: name)
                _ = message.negativeTTL
            } catch {
                rejected += 1
                codes.insert(error.code)
                #expect((0...bytes.count).contains(error.offset))
            }
        }
        // Both outcomes and every kind of damage must actually be exercised for the run to mean anything.
        #expect(codes.isSuperset(of: [.truncated, .badLabelType, .forwardPointer, .pointerLoop, .badRecordLength]))
        #expect(parsed > 1_000)
        #expect(rejected > 1_000)
    }

    @Test func randomBytesNeverTrap() {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...80, using: &rng)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if bytes.count >= 12 {
                // Small counts so the parser gets past the header.
                for i in [4, 6, 8, 10] { bytes[i] = 0 }
                bytes[5] = UInt8.random(in: 0...3, using: &rng)
                bytes[7] = UInt8.random(in: 0...3, using: &rng)
            }
            do {
                _ = try DNSMessage(parsing: bytes)
            } catch {
                #expect((0...bytes.count).contains(error.offset))
            }
        }
    }

    @Test func longestPointerChainStillTerminates() throws {
        // 100 questions, each "x" + a pointer to the previous one: a legal, deep chain.
        var bytes = Fixtures.header(questions: 0)
        bytes[4] = 0
        bytes[5] = 100
        var previous = -1
        for _ in 0..<100 {
            let start = bytes.count
            bytes += [1, 0x78]
            bytes += previous < 0 ? [0] : [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)]
            bytes += [0, 1, 0, 1]
            previous = start
        }
        // Each name grows by 2 bytes; from the 127th label on it would pass 255, so 100 fit.
        let message = try DNSMessage(parsing: bytes)
        #expect(message.questions.count == 100)
        #expect(message.questions.last?.name == Array(repeating: "x", count: 100).joined(separator: "."))
    }

    private func mutate(_ bytes: inout [UInt8], using rng: inout SeededGenerator) {
        guard !bytes.isEmpty else {
            bytes.append(UInt8.random(in: 0...255, using: &rng))
            return
        }
        let i = Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
        case 1: bytes[i] ^= 1 << UInt8.random(in: 0...7, using: &rng)
        case 2: // A pointer somewhere into the message.
            bytes[i] = 0xC0
            if i + 1 < bytes.count { bytes[i + 1] = UInt8.random(in: 0...UInt8(min(255, bytes.count)), using: &rng) }
        case 3: bytes[i] = [0, 0x3F, 0x40, 0x80, 0xFF].randomElement(using: &rng)!
        case 4: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: i)
        case 5: bytes.remove(at: i)
        case 6: bytes.removeLast(Int.random(in: 0...min(4, bytes.count), using: &rng))
        default:
            let j = Int.random(in: i..<min(bytes.count, i + 16), using: &rng)
            bytes.insert(contentsOf: bytes[i...j], at: Int.random(in: 0...bytes.count, using: &rng))
        }
    }
}
