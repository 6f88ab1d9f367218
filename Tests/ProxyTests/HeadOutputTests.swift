import NIOCore
import NIOHTTP1
@testable import Proxy
import Testing
import TestSupport

/// Heads rendered into memory reserved once: the same bytes whatever was reserved, a head larger than the
/// estimate measured and rendered again rather than cut, and numbers written as the text they stand for.
@Suite struct HeadOutputTests {
    /// Every kind of piece a head is made of.
    struct Pieces: HeadRendering {
        var repeats = 1

        func render<Output: HeadOutput>(into out: inout Output) {
            for round in 0..<repeats {
                out.append("static ")
                out.append(String("string-\(round) "))
                out.append("a substring here".dropFirst(2).prefix(9))
                out.append(" ")
                out.append(ByteBuffer(string: "buffer"))
                out.append(" ")
                Array("raw".utf8).withUnsafeBytes { out.append($0) }
                out.append(" ")
                out.appendHex(0x0123_4567_89ab_cdef)
                out.append(" ")
                out.appendHex(0xA, digits: 2)
                for value: Int64 in [0, 7, 10, 99, 100, 1_234_567_890, .max, -5, .min] {
                    out.append(" ")
                    out.appendDecimal(value)
                }
                out.append("\r\n")
            }
        }

        var expected: String {
            (0..<repeats).map { round in
                "static string-\(round) substring buffer raw 0123456789abcdef 0a"
                    + [Int64(0), 7, 10, 99, 100, 1_234_567_890, .max, -5, .min].map { " \($0)" }.joined() + "\r\n"
            }.joined()
        }
    }

    @Test("the pieces render to the same bytes whether the estimate is generous, exact, short or zero", arguments: [1, 40])
    func sameBytesWhateverTheEstimate(repeats: Int) {
        let pieces = Pieces(repeats: repeats)
        var length = HeadLength()
        pieces.render(into: &length)
        #expect(length.count == pieces.expected.utf8.count)
        for estimate in [0, 1, length.count - 1, length.count, length.count * 2] {
            // A buffer with bytes already in it: the head goes after them.
            var buffer = ByteBuffer(string: "before|")
            buffer.writeHead(pieces, estimate: estimate)
            #expect(String(buffer: buffer) == "before|" + pieces.expected, "estimate \(estimate)")
        }
        var piecewise = ByteBuffer()
        pieces.render(into: &piecewise)
        #expect(String(buffer: piecewise) == pieces.expected, "the ByteBuffer output writes the same bytes")
    }

    @Test("sixteen hex digits, made eight at a time, are the lower-case digits of the value, zero-padded")
    func hexDigits() {
        var generator = SeededGenerator(seed: 0x4E58)
        let values: [UInt64] = [0, 1, 9, 10, 15, 16, 0xFEDC_BA98_7654_3210, 0x0123_4567_89AB_CDEF, .max, 1 << 63]
            + (0..<2_000).map { _ in generator.next() }
        for value in values {
            var out = ByteBuffer()
            out.appendHex(value)
            let expected = String(repeating: "0", count: 16 - String(value, radix: 16).count) + String(value, radix: 16)
            #expect(String(buffer: out) == expected)
            var two = ByteBuffer()
            two.appendHex(value, digits: 2)
            #expect(String(buffer: two) == String(expected.suffix(2)))
        }
    }

    @Test("memory too small for a head is left untouched past its end and reported as not fitting")
    func tooSmallIsReported() {
        var memory = [UInt8](repeating: 0xEE, count: 12)
        memory.withUnsafeMutableBytes { raw in
            var out = HeadBytes(UnsafeMutableRawBufferPointer(rebasing: raw[..<8]))
            out.append("12345")
            #expect(out.fits && out.count == 5)
            out.appendHex(0xFFFF, digits: 4)
            #expect(!out.fits)
            out.append("x")
            #expect(!out.fits && out.count == 5, "nothing is copied once a piece did not fit")
        }
        #expect(Array(memory[5...]) == [UInt8](repeating: 0xEE, count: 7))
    }

    @Test("a request head with route headers far beyond the estimate is whole, and equals the one rendered with room to spare")
    func upstreamHeadLargerThanItsEstimate() throws {
        var framer = RequestFramer(limits: ProxyLimits())
        var bytes = ByteBuffer(string: "POST /in?x=1 HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 12345\r\nAccept: */*\r\nVia: 1.0 edge\r\n\r\n")
        guard case .head(let head) = try framer.next(&bytes) else {
            Issue.record("no head framed")
            return
        }
        let service = ProxyService(name: "svc", selector: RoundRobinSelector(addresses: []))
        let long = String(repeating: "v", count: 3_000)
        let route = ProxyRoute(name: "r", upstreamTarget: "/upstream/in?x=1", service: service,
                               extraHeaders: [(name: "X-Large", value: long), (name: "X-Small", value: "1")])
        let forwarding = UpstreamRequestWriter.Forwarding(
            clientIP: "127.0.0.9", proto: "http", port: "8080",
            requestId: RequestId(prefix: 0xAB, counter: 7),
            trace: TraceParent(generatedFrom: RequestId(prefix: 0xAB, counter: 7)),
            fixed: .init(clientIP: "127.0.0.9", proto: "http", port: "8080", allocator: ByteBufferAllocator()))
        #expect(UpstreamRequestWriter.estimatedSize(head, route) < long.utf8.count)

        var written = ByteBuffer()
        UpstreamRequestWriter.write(head: head, route: route, forwarding: forwarding, tunnel: false, into: &written)
        var reference = ByteBuffer()
        reference.reserveCapacity(16_384)
        reference.writeHead(UpstreamRequestWriter.Rendering(head: head, route: route, forwarding: forwarding, tunnel: false),
                            estimate: 16_384)
        let text = String(buffer: written)
        #expect(text == String(buffer: reference))
        #expect(text.hasPrefix("POST /upstream/in?x=1 HTTP/1.1\r\nHost: shop.test\r\nAccept: */*\r\nX-Large: \(long)\r\nX-Small: 1\r\n"))
        #expect(text.contains("\r\nVia: 1.0 edge, 1.1 switchyard\r\nX-Request-Id: 00000000000000ab0000000000000007\r\n"))
        #expect(text.hasSuffix("\r\nContent-Length: 12345\r\n\r\n"))
    }

    @Test("every method's name is written as the client sent it, the common ones and any other token")
    func methodNames() {
        let methods: [HTTPMethod] = [.GET, .POST, .HEAD, .PUT, .DELETE, .PATCH, .OPTIONS, .TRACE, .RAW(value: "PURGE")]
        for method in methods {
            var out = ByteBuffer()
            UpstreamRequestWriter.appendMethod(method, to: &out)
            #expect(String(buffer: out) == method.rawValue)
        }
    }
}
