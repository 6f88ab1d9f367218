import NIOCore
@testable import Proxy
import Testing
import TestSupport

/// The raw response framer on plain bytes, fed in pieces split at every offset: framing must not
/// depend on how TCP cut the stream.
@Suite struct ResponseFramerTests {
    struct Expected {
        var headRequest = false
        var status: Int
        var body: String
        var reusable = true
    }

    /// Feeds `pieces` to one framer, arming it for each expected response in turn.
    /// Returns per-response (status, relayed body bytes, reusable) and the relayed head bytes.
    static func run(
        _ pieces: [ByteBuffer], expected: [Expected], dechunk: Bool = false
    ) throws(ResponseFramingError) -> [(status: Int, body: String, reusable: Bool)] {
        var framer = ResponseFramer()
        var results: [(status: Int, body: String, reusable: Bool)] = []
        var index = 0
        framer.expectResponse(headRequest: expected[0].headRequest, dechunk: dechunk)
        var status = 0
        var body = ""
        var reusable = true
        for piece in pieces {
            var buffer = piece
            while let event = try framer.next(&buffer) {
                switch event {
                case .head(let head):
                    if head.isInformational { continue }
                    status = head.status
                    reusable = head.reusable
                case .body(let bytes):
                    body += String(buffer: bytes)
                case .end:
                    results.append((status, body, reusable))
                    body = ""
                    index += 1
                    if index < expected.count {
                        framer.expectResponse(headRequest: expected[index].headRequest, dechunk: dechunk)
                    }
                }
            }
        }
        if let event = try framer.endOfInput(), case .end = event {
            results.append((status, body, reusable))
        }
        return results
    }

    static let stream: [(String, Expected)] = [
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", .init(status: 200, body: "hello")),
        ("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", .init(status: 204, body: "")),
        ("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", .init(headRequest: true, status: 200, body: "")),
        (
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5;name=value\r\npedia\r\n0\r\nX-T: 1\r\n\r\n",
            .init(status: 200, body: "4\r\nwiki\r\n5;name=value\r\npedia\r\n0\r\nX-T: 1\r\n\r\n")
        ),
        ("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", .init(status: 304, body: "")),
        ("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n", .init(status: 404, body: "")),
        ("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe rest", .init(status: 200, body: "the rest", reusable: false)),
    ]

    @Test("token and field bytes: the fast checks agree with RFC 9110's definitions for every byte value")
    func byteClasses() {
        let tokenPunctuation = Set("!#$%&'*+-.^_`|~".utf8)
        for value in 0...255 {
            let byte = UInt8(value)
            let isAlnum = (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value)
            #expect(ResponseFramer.isTokenByte(byte) == (isAlnum || tokenPunctuation.contains(byte)), "\(value)")
            let field = byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
            #expect(HeadScan.isFieldByte(byte) == field)
            // One bad byte anywhere in a run is found, at every offset, whatever surrounds it: letters, obs-text
            // (high bytes, which a word-at-a-time check must not mistake for controls), tabs and spaces.
            for fill: UInt8 in [UInt8(ascii: "a"), 0x80, 0xFF, 0x09, 0x20, 0x7E] {
                for offset in [0, 7, 8, 15, 16, 31, 39] {
                    var line = [UInt8](repeating: fill, count: 40)
                    line[offset] = byte
                    let allField = line.withUnsafeBytes { HeadScan.allFieldBytes($0, 0, line.count) }
                    #expect(allField == field, "byte \(value) at \(offset) among \(fill)")
                    let skipped = line.withUnsafeBytes { HeadScan.allFieldBytes($0, offset + 1, line.count) }
                    #expect(skipped, "a byte outside the range is not looked at")
                    let unaligned = line.withUnsafeBytes { HeadScan.allFieldBytes($0, 1, line.count) }
                    #expect(unaligned == (field || offset == 0), "byte \(value) at \(offset) from offset 1")
                }
            }
        }
    }

    @Test("field bytes: ranges of every length up to 20 at every start, a bad byte inside is found, one just outside is not")
    func fieldBytesOverShortRangesAndTails() {
        for bad: UInt8 in [0x00, 0x0A, 0x0D, 0x1F, 0x7F] {
            for length in 0...20 {
                for from in 0...8 {
                    let to = from + length
                    for position in max(0, from - 1)...(to) {
                        // A 30-byte line of visible bytes and tabs, with `bad` at `position`.
                        var line = [UInt8]((0..<30).map { $0 % 5 == 4 ? 0x09 : UInt8(ascii: "a") &+ UInt8($0) })
                        line[position] = bad
                        let inside = position >= from && position < to
                        let found = line.withUnsafeBytes { HeadScan.allFieldBytes($0, from, to) }
                        #expect(found == !inside, "bad \(bad) at \(position) in \(from)..<\(to)")
                        // The same range at the very end of the memory: the short-range word cannot be read.
                        let end = Array(line[0..<(to + (position == to ? 1 : 0))])
                        let atEnd = end.withUnsafeBytes { HeadScan.allFieldBytes($0, from, to) }
                        #expect(atEnd == !inside, "bad \(bad) at \(position) in \(from)..<\(to), at the end")
                    }
                }
            }
        }
    }

    @Test("names compared without case, a word at a time: every case mix matches, any one byte changed does not")
    func equalsLowercaseAgreesWithAByteComparison() {
        let literals: [StaticString] = ["te", "close", "chunked", "upgrade", "connection", "keep-alive", "traceparent",
                                        "x-request-id", "content-length", "x-forwarded-for", "proxy-connection",
                                        "transfer-encoding", "x-forwarded-proto"]
        var generator = SeededGenerator(seed: 11)
        for literal in literals {
            let text = literal.withUTF8Buffer { Array($0) }
            for prefix in [0, 3] {
                for _ in 0..<20 {
                    // Random case, at an offset, with bytes after it.
                    let mixed = text.map { $0 >= 0x61 && $0 <= 0x7A && Bool.random(using: &generator) ? $0 - 0x20 : $0 }
                    // Built from a non-empty array: appending to the empty-array singleton (`[] + …` with prefix 0)
                    // writes its count in the standard library, which ThreadSanitizer reports against any other
                    // thread making an array at the same time.
                    var line = Array(": value\r\n".utf8)
                    line.insert(contentsOf: mixed, at: 0)
                    line.insert(contentsOf: repeatElement(UInt8(ascii: "x"), count: prefix), at: 0)
                    #expect(line.withUnsafeBytes { HeadScan.equalsLowercase($0, prefix, literal) }, "\(literal)")
                    let position = prefix + Int.random(in: 0..<text.count, using: &generator)
                    for changed: UInt8 in [line[position] ^ 0x01, UInt8(ascii: "_"), 0x0D, 0xC1] where changed | 0x20 != line[position] | 0x20 {
                        let original = line[position]
                        line[position] = changed
                        #expect(!line.withUnsafeBytes { HeadScan.equalsLowercase($0, prefix, literal) },
                                "\(literal) with byte \(changed) at \(position - prefix)")
                        line[position] = original
                    }
                }
            }
            // Too few bytes left: no match, and nothing read past the end.
            let short = Array(text.dropLast())
            #expect(!short.withUnsafeBytes { HeadScan.equalsLowercase($0, 0, literal) })
        }
    }

    @Test("header names: the eight-at-a-time token scan stops where a byte-by-byte scan stops, for every byte value")
    func tokenEndAgreesWithByteByByte() {
        func byteByByte(_ line: [UInt8], _ from: Int, _ to: Int) -> Int {
            var i = from
            while i < to && ResponseFramer.isTokenByte(line[i]) { i += 1 }
            return i
        }
        // Fills: plain name bytes (letters of both cases, digits, '-'), token punctuation the fast path does not
        // know, and bytes just outside the fast path's ranges ('@', '[', '`', '{', '/', ':', 0x2C, 0xAD, 0xC1).
        let fills: [[UInt8]] = [Array("Content-Type".utf8), Array("x_forwarded.for~9".utf8), Array("AZaz09--".utf8)]
        for value in 0...255 {
            for fill in fills {
                for offset in [0, 1, 7, 8, 9, 15, 16, 23] {
                    var line = [UInt8]((0..<24).map { fill[$0 % fill.count] })
                    line[offset] = UInt8(value)
                    for from in [0, 1, 5] {
                        for to in [line.count, 17, 8] where from <= to {
                            let fast = line.withUnsafeBytes { HeadScan.tokenEnd($0, from: from, to: to) }
                            #expect(fast == byteByByte(line, from, to), "byte \(value) at \(offset), \(from)..<\(to)")
                        }
                    }
                }
            }
        }
        for value in 0...255 {
            let word = UInt64(value) | UInt64(UInt8(ascii: "a")) << 8
            let plain = HeadScan.plainTokenBytes(word) & 0x80 != 0
            let letterDigitDash = (0x30...0x39).contains(value) || (0x41...0x5A).contains(value)
                || (0x61...0x7A).contains(value) || value == 0x2D
            #expect(plain == letterDigitDash, "\(value)")
        }
    }

    @Test func framesAResponseStreamSplitAtEveryOffset() throws {
        let all = Self.stream.map(\.0).joined()
        let expected = Self.stream.map(\.1)
        let bytes = ByteBuffer(string: all)
        for cut in 0...bytes.readableBytes {
            let pieces = [
                bytes.getSlice(at: 0, length: cut)!, bytes.getSlice(at: cut, length: bytes.readableBytes - cut)!,
            ]
            let results = try Self.run(pieces, expected: expected)
            #expect(results.count == expected.count, "cut at \(cut)")
            for (result, want) in zip(results, expected) {
                #expect(result.status == want.status, "cut at \(cut)")
                #expect(result.body == want.body, "cut at \(cut)")
                #expect(result.reusable == want.reusable, "cut at \(cut)")
            }
        }
    }

    @Test func framesAResponseStreamFedOneByteAtATime() throws {
        let bytes = ByteBuffer(string: Self.stream.map(\.0).joined())
        let pieces = (0..<bytes.readableBytes).map { bytes.getSlice(at: $0, length: 1)! }
        let results = try Self.run(pieces, expected: Self.stream.map(\.1))
        #expect(results.map(\.body) == Self.stream.map(\.1.body))
    }

    @Test func dechunksForHTTP10Clients() throws {
        let raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n"
        let bytes = ByteBuffer(string: raw)
        for cut in 0...bytes.readableBytes {
            let pieces = [
                bytes.getSlice(at: 0, length: cut)!, bytes.getSlice(at: cut, length: bytes.readableBytes - cut)!,
            ]
            let results = try Self.run(pieces, expected: [.init(status: 200, body: "wikipedia")], dechunk: true)
            #expect(results.map(\.body) == ["wikipedia"], "cut at \(cut)")
        }
    }

    @Test func marksTheTransferEncodingHeaderForRemovalWhenDechunking() throws {
        var framer = ResponseFramer()
        framer.expectResponse(headRequest: false, dechunk: true)
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n0\r\n\r\n")
        guard case .head(let head) = try framer.next(&buffer) else {
            Issue.record("expected a head")
            return
        }
        #expect(head.dropped.count == 1)
        let dropped = head.bytes.getString(at: head.bytes.readerIndex + head.dropped.sorted[0].lowerBound, length: head.dropped.sorted[0].count)
        #expect(dropped == "Transfer-Encoding: chunked\r\n")
    }

    @Test func chunkedWinsOverContentLengthAndTheConnectionEnds() throws {
        var framer = ResponseFramer()
        framer.expectResponse(headRequest: false, dechunk: false)
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        guard case .head(let head) = try framer.next(&buffer) else {
            Issue.record("expected a head")
            return
        }
        #expect(head.framing == .chunked)
        #expect(!head.reusable)
        let dropped = head.bytes.getString(at: head.bytes.readerIndex + head.dropped.sorted[0].lowerBound, length: head.dropped.sorted[0].count)
        #expect(dropped == "Content-Length: 3\r\n")
    }

    @Test func keepsConnectionUpgradeOnA101AndTunnels() throws {
        var framer = ResponseFramer()
        framer.expectResponse(headRequest: false, dechunk: false)
        var buffer = ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        buffer.writeBytes([0x81, 0x00])
        guard case .head(let head) = try framer.next(&buffer) else {
            Issue.record("expected a head")
            return
        }
        #expect(head.framing == .tunnel)
        #expect(head.dropped.isEmpty)
        guard case .body(let rest) = try framer.next(&buffer) else {
            Issue.record("expected tunnel bytes")
            return
        }
        #expect(rest.readableBytes == 2)
    }

    @Test func anHTTP10ResponseIsReusableOnlyWithKeepAlive() throws {
        for (raw, reusable) in [
            ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true),
        ] {
            let results = try Self.run([ByteBuffer(string: raw)], expected: [.init(status: 200, body: "")])
            #expect(results.first?.reusable == reusable)
        }
    }

    static let invalid: [String] = [
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc",
        "HTTP/1.1 200 OK\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A : a\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\u{0}b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTX/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
    ]

    @Test(arguments: invalid.indices)
    func rejectsInvalidResponsesWhereverTheyAreCut(index: Int) {
        let bytes = ByteBuffer(string: Self.invalid[index])
        for cut in 0...bytes.readableBytes {
            let pieces = [
                bytes.getSlice(at: 0, length: cut)!, bytes.getSlice(at: cut, length: bytes.readableBytes - cut)!,
            ]
            #expect(throws: ResponseFramingError.self, "case \(index) cut at \(cut)") {
                _ = try Self.run(pieces, expected: [.init(status: 200, body: "")])
            }
        }
    }

    @Test func rejectsAnOversizedHead() {
        var framer = ResponseFramer()
        framer.expectResponse(headRequest: false, dechunk: false)
        let line = "X-Filler: " + String(repeating: "f", count: 1000) + "\r\n"
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\n" + String(repeating: line, count: 80))
        #expect(throws: ResponseFramingError.self) {
            while try framer.next(&buffer) != nil {}
        }
    }

    @Test func aTruncatedBodyIsAnError() throws {
        var framer = ResponseFramer()
        framer.expectResponse(headRequest: false, dechunk: false)
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        while try framer.next(&buffer) != nil {}
        #expect(throws: ResponseFramingError.self) { _ = try framer.endOfInput() }
    }

    @Test func randomBytesNeverCrashTheFramer() {
        var generator = SeededGenerator(seed: 0x5EED)
        let alphabet = Array("HTTP/1.0 2045\r\n:;abcCdef-Length:Transfer-Encoding chunked\t ".utf8)
        for _ in 0..<2000 {
            var framer = ResponseFramer()
            framer.expectResponse(headRequest: false, dechunk: Bool.random(using: &generator))
            let count = Int.random(in: 0..<200, using: &generator)
            var bytes = "HTTP/1.1 200 OK\r\n".utf8.map { $0 }
            for _ in 0..<count { bytes.append(alphabet.randomElement(using: &generator) ?? 0) }
            var buffer = ByteBuffer(bytes: bytes)
            var events = 0
            do {
                while let _ = try framer.next(&buffer) {
                    events += 1
                    if events > 10_000 { break }
                }
                _ = try framer.endOfInput()
            } catch {}
            #expect(events <= 10_000)
        }
    }
}

