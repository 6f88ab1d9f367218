import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import Proxy
import Testing
import TestSupport

/// The proxy's own request framer on plain bytes: heads parsed strictly, bodies framed by Content-Length
/// or chunked coding, the same result however TCP cut the stream, and never more lenient than NIOHTTP1's
/// llhttp-based decoder, which serves as the oracle in a differential fuzz.
@Suite struct RequestFramerTests {
    struct Parsed: Equatable {
        var method: String
        var uri: String
        var minor: Int
        var headers: [String]
        var body: String
        var invalid: String?
    }

    /// Frames `pieces` with one framer; the requests it found, or the error that stopped it.
    static func frame(_ pieces: [ByteBuffer], limits: ProxyLimits = ProxyLimits()) -> (requests: [Parsed], error: RequestFramingError?) {
        var framer = RequestFramer(limits: limits)
        var requests: [Parsed] = []
        var current: Parsed? = nil
        for piece in pieces {
            var buffer = piece
            do {
                while let event = try framer.next(&buffer) {
                    switch event {
                    case .head(let head):
                        current = Parsed(
                            method: head.method.rawValue, uri: head.uri, minor: head.minorVersion,
                            headers: head.headers.pairs.map { "\($0.name): \($0.value)" }, body: "",
                            invalid: head.facts.invalid)
                        if head.facts.invalid != nil, let done = current {
                            requests.append(done)
                            current = nil
                        }
                    case .body(let bytes):
                        current?.body += String(buffer: bytes)
                    case .end:
                        if let done = current { requests.append(done) }
                        current = nil
                    case .raw(let bytes):
                        requests.append(Parsed(method: "RAW", uri: "", minor: 0, headers: [], body: String(buffer: bytes)))
                    }
                }
            } catch {
                return (requests, error)
            }
        }
        return (requests, nil)
    }

    static func frame(_ text: String, limits: ProxyLimits = ProxyLimits()) -> (requests: [Parsed], error: RequestFramingError?) {
        frame([ByteBuffer(string: text)], limits: limits)
    }

    /// The same bytes cut in two at every offset.
    static func everySplit(_ text: String) -> [[ByteBuffer]] {
        let bytes = Array(text.utf8)
        return (0...bytes.count).map { cut in
            [ByteBuffer(bytes: bytes[0..<cut]), ByteBuffer(bytes: bytes[cut...])]
        }
    }

    @Test("methods: the common names are their cases, by pattern too; other tokens, other cases and lengths are raw")
    func methodsFromTheirBytes() {
        let cases: [(String, HTTPMethod)] = [("GET", .GET), ("PUT", .PUT), ("POST", .POST), ("HEAD", .HEAD),
                                             ("PATCH", .PATCH), ("DELETE", .DELETE), ("OPTIONS", .OPTIONS),
                                             ("CONNECT", .CONNECT), ("TRACE", .TRACE), ("PURGE", .PURGE)]
        for (name, expected) in cases {
            let method = Array(name.utf8).withUnsafeBytes { RequestHeadParser.method($0) }
            #expect(method == expected, "\(name)")
            #expect(method.isHEAD == (name == "HEAD") && method.isCONNECT == (name == "CONNECT")
                    && method.isOPTIONS == (name == "OPTIONS"), "\(name)")
        }
        for name in ["get", "GETS", "GE", "POSTS", "X", "OPTIONSX", "CONNECTED", "M-SEARCH", "PROPFIND"] {
            let method = Array(name.utf8).withUnsafeBytes { RequestHeadParser.method($0) }
            #expect(method.rawValue == name && !method.isHEAD && !method.isCONNECT && !method.isOPTIONS, "\(name)")
        }
    }

    @Test func parsesAHeadWithoutCopyingItsFields() {
        let (requests, error) = Self.frame("GET /a/b?c=1 HTTP/1.1\r\nHost: example.test\r\nX-Two:  spaced value \t\r\nAccept: */*\r\n\r\n")
        #expect(error == nil)
        #expect(requests == [Parsed(method: "GET", uri: "/a/b?c=1", minor: 1,
                                    headers: ["Host: example.test", "X-Two: spaced value", "Accept: */*"], body: "")])
    }

    @Test func pipelinedRequestsWithBodiesSurviveEverySplit() {
        let stream = "POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
            + "PUT /two HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
            + "\r\nGET /three HTTP/1.0\r\n\r\n"
        let expected = [
            Parsed(method: "POST", uri: "/one", minor: 1, headers: ["Host: a", "Content-Length: 5"], body: "hello"),
            Parsed(method: "PUT", uri: "/two", minor: 1, headers: ["Host: a", "Transfer-Encoding: chunked"], body: "abcde"),
            Parsed(method: "GET", uri: "/three", minor: 0, headers: [], body: ""),
        ]
        for pieces in Self.everySplit(stream) {
            let (requests, error) = Self.frame(pieces)
            #expect(error == nil)
            #expect(requests == expected)
        }
        // Byte by byte.
        let (requests, error) = Self.frame(Array(stream.utf8).map { ByteBuffer(bytes: [$0]) })
        #expect(error == nil)
        #expect(requests == expected)
    }

    @Test func bytesAfterAnUpgradeRequestAreRaw() {
        let stream = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\u{1}frame GET / HTTP/1.1\r\n"
        let (requests, error) = Self.frame(stream)
        #expect(error == nil)
        #expect(requests.count == 2)
        #expect(requests.last?.method == "RAW")
        #expect(requests.last?.body == "\u{1}frame GET / HTTP/1.1\r\n")
    }

    @Test func limitsAnswer414And431() {
        let limits = ProxyLimits(maxHeaderBytes: 1024, maxHeaderCount: 4, maxURILength: 64)
        let longURI = "GET /" + String(repeating: "a", count: 100) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        #expect(Self.frame(longURI, limits: limits).error?.status == 414)
        // A request line that never ends is refused once it is longer than any allowed line.
        #expect(Self.frame("GET /" + String(repeating: "a", count: 200), limits: limits).error?.status == 414)
        let manyHeaders = "GET / HTTP/1.1\r\n" + (0..<5).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        #expect(Self.frame(manyHeaders, limits: limits).error == RequestFramingError(status: 431, message: "too many request header fields"))
        let bigHeader = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "b", count: 2000) + "\r\n\r\n"
        #expect(Self.frame(bigHeader, limits: limits).error?.status == 431)
        // The same, trickling in: refused before the head ends.
        let trickle = Array(("GET / HTTP/1.1\r\nX-Big: " + String(repeating: "b", count: 2000)).utf8).map { ByteBuffer(bytes: [$0]) }
        #expect(Self.frame(trickle, limits: limits).error?.status == 431)
    }

    @Test(arguments: ProxyIntegrationTests.HostileClientTests.smuggling.indices)
    func everySmugglingCaseIsRefused(index: Int) {
        let (name, request) = ProxyIntegrationTests.HostileClientTests.smuggling[index]
        let (requests, error) = Self.frame(request)
        let refused = error != nil
            || requests.contains { $0.invalid != nil || $0.method == "CONNECT" || ($0.minor == 1 && !$0.headers.contains { $0.lowercased().hasPrefix("host:") }) }
        #expect(refused, "\(name) was framed as \(requests)")
        if let error { #expect(error.status == 400, "\(name): \(error)") }
    }

    @Test func malformedHeadsNameTheirFault() {
        let cases: [(String, String)] = [
            ("GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", "invalid header name"),
            ("GET / HTTP/1.1\r\nHost: a\r\n two\r\n\r\n", "obsolete line folding"),
            ("GET /\u{7F} HTTP/1.1\r\n\r\n", "invalid byte in request target"),
            ("GET /é HTTP/1.1\r\n\r\n", "non-ASCII byte in request target"),
            ("GET / HTTP/2.0\r\n\r\n", "unsupported HTTP version"),
            ("GET /\r\n\r\n", "invalid byte in request target"),
            ("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", "header line without a colon"),
        ]
        for (request, reason) in cases {
            #expect(Self.frame(request).error == .malformed(reason), "\(request.debugDescription)")
        }
    }

    /// Random bytes from an alphabet of HTTP's delimiters and keywords, cut at random places: the framer
    /// always ends (events bounded by the input), and every refusal is a 400, 414 or 431.
    @Test func randomBytesAreFramedOrRefusedNeverCrash() {
        var generator = SeededGenerator(seed: 0xF4A3E)
        let alphabet = Array("GET POST / HTTP/1.1\r\n:;, Host Content-Length Transfer-Encoding chunked Upgrade\t0123456789abcdef\u{0}".utf8)
        for _ in 0..<3_000 {
            var bytes = Array((["GET / HTTP/1.1\r\n", "POST /x HTTP/1.0\r\n", ""].randomElement(using: &generator) ?? "").utf8)
            for _ in 0..<Int.random(in: 0..<300, using: &generator) {
                bytes.append(alphabet.randomElement(using: &generator) ?? 0)
            }
            let cut = Int.random(in: 0...bytes.count, using: &generator)
            let pieces = [ByteBuffer(bytes: bytes[0..<cut]), ByteBuffer(bytes: bytes[cut...])]
            let (requests, error) = Self.frame(pieces, limits: ProxyLimits(maxHeaderBytes: 256, maxHeaderCount: 8, maxURILength: 64))
            #expect(requests.count <= bytes.count)
            if let error { #expect([400, 414, 431].contains(error.status), "\(error)") }
        }
    }

    // MARK: Differential fuzz against NIOHTTP1

    /// What NIOHTTP1's decoder makes of `bytes`: the heads it produced before any error, and whether it
    /// raised one.
    static func oracle(_ bytes: [UInt8]) -> (heads: [Parsed], failed: Bool) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        defer { _ = try? channel.finish() }
        var failed = false
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        } catch {
            failed = true
        }
        var heads: [Parsed] = []
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            if case .head(let head) = part {
                heads.append(Parsed(method: head.method.rawValue, uri: head.uri, minor: head.version.minor,
                                    headers: head.headers.map { "\($0.name): \(Self.trimmingTrailingWhitespace($0.value))" },
                                    body: ""))
            }
        }
        return (heads, failed)
    }

    /// NIOHTTP1 keeps whitespace after a field value; RFC 9112 says it is not part of the value, and the
    /// proxy drops it.
    static func trimmingTrailingWhitespace(_ value: String) -> String {
        var value = Substring(value)
        while let last = value.last, last == " " || last == "\t" { value.removeLast() }
        return String(value)
    }

    static let seeds = [
        "GET /path?q=1 HTTP/1.1\r\nHost: a.test\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
        "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nabc",
        "PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "DELETE /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\nVia: 1.1 edge\r\n\r\n",
    ]

    /// Seeded mutations of valid requests (byte flips to delimiters and controls, insertions, deletions).
    /// Whenever NIOHTTP1 refuses the bytes, the proxy's framer must refuse them too; whenever the framer
    /// accepts a head, NIOHTTP1 must have read the same method, target, version and fields.
    @Test func neverMoreLenientThanNIOHTTP1() {
        var generator = SeededGenerator(seed: 0x5EED_F00D)
        let interesting: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x20, 0x3A, 0x7F, 0x80, 0xFF, 0x2C, 0x3B, 0x41, 0x30, 0x66]
        var accepted = 0
        var refused = 0
        for round in 0..<6_000 {
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            for _ in 0..<(1 + Int(generator.next() % 3)) {
                let position = Int(generator.next() % UInt64(bytes.count))
                let byte = interesting[Int(generator.next() % UInt64(interesting.count))]
                switch generator.next() % 3 {
                case 0: bytes[position] = byte
                case 1: bytes.insert(byte, at: position)
                default: if bytes.count > 1 { bytes.remove(at: position) }
                }
            }
            let text = String(decoding: bytes, as: UTF8.self).debugDescription
            let ours = Self.frame([ByteBuffer(bytes: bytes)])
            // Heads the proxy would serve: parsed, and not refused by its header checks.
            let served = ours.requests.filter { $0.method != "RAW" }.prefix { $0.invalid == nil }
            let theirs = Self.oracle(bytes)
            if theirs.failed { refused += 1 } else { accepted += 1 }
            // llhttp knows a fixed list of methods; any token is a valid method, and is relayed as is.
            let knownMethods = served.allSatisfy { HTTPMethod(rawValue: $0.method).isKnown }
            guard knownMethods else { continue }
            // RFC 9110 §5.5 allows whitespace after any field value; llhttp refuses it after Content-Length.
            // The proxy restates Content-Length itself, so the upstream never sees that whitespace.
            let raw = String(decoding: bytes, as: UTF8.self)
            if raw.contains(/(?i)content-length:[ \t]*[0-9]+[ \t]+\r\n/) { continue }
            #expect(served.count <= theirs.heads.count, "served a request NIOHTTP1 refuses: \(text)")
            for (mine, oracle) in zip(served, theirs.heads) {
                let plain = Parsed(method: mine.method, uri: mine.uri, minor: mine.minor, headers: mine.headers, body: "")
                #expect(plain == oracle, "\(text)")
            }
        }
        #expect(accepted > 100 && refused > 100, "the mutations should exercise both sides: \(accepted) / \(refused)")
    }
}

extension HTTPMethod {
    /// One of NIOHTTP1's (llhttp's) named methods rather than `.RAW`.
    var isKnown: Bool {
        if case .RAW = self { return false }
        return true
    }
}
