import DNSWire
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Proxy

/// The client connection handler on an `EmbeddedChannel`: bytes in, bytes out, no socket. Covers the answers
/// the proxy gives by itself (no route, refused requests, limits), pipelining order, and closing rules.
@Suite("Client connection handler on EmbeddedChannel")
struct ConnectionHandlerEmbeddedTests {
    struct NoRoutes: ProxyRouter {
        func route(method: HTTPMethod, host: Substring?, uri: Substring, headers: RequestHeaders, https: Bool, clientIP: IPAddress?) -> ProxyRoute? { nil }
    }

    /// A channel with the handler in it, as the proxy's listener sets it up, and connected.
    func channel(limits: ProxyLimits = ProxyLimits()) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        let shared = ServerShared(configuration: ProxyConfiguration(router: NoRoutes(), limits: limits),
                                  pool: PoolSettings(), logger: Logger(label: "test"), workers: 1)
        let loop = LoopContext(index: 0, eventLoop: channel.embeddedEventLoop, shared: shared)
        try ProxyServer.configureClientPipeline(channel, loop: loop, limits: limits)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        return channel
    }

    /// Everything the handler wrote so far, as text.
    func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    func statuses(_ text: String) -> [Int] {
        text.components(separatedBy: "HTTP/1.1 ").dropFirst().compactMap { Int($0.prefix(3)) }
    }

    @Test("an unrouted request gets a 404 with a request id, and the connection stays open for the next one")
    func noRouteKeepsTheConnection() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"))
        let first = try written(channel)
        #expect(statuses(first) == [404], "\(first)")
        #expect(first.lowercased().contains("x-request-id:"), "\(first)")
        #expect(channel.isActive)
        try channel.writeInbound(ByteBuffer(string: "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(statuses(try written(channel)) == [404])
        _ = try? channel.finish()
    }

    @Test("a closed connection's handler is freed: it lets go of its context, which holds it")
    func handlerFreedAfterClose() throws {
        weak var released: ProxyConnectionHandler?
        do {
            let channel = try channel()
            released = try channel.pipeline.syncOperations.handler(type: ProxyConnectionHandler.self)
            try channel.writeInbound(ByteBuffer(string: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"))
            #expect(statuses(try written(channel)) == [404])
            #expect(released != nil)
            _ = try channel.finish(acceptAlreadyClosed: true)
        }
        #expect(released == nil, "the handler outlived its channel")
    }

    @Test("pipelined requests in one read are answered in order, each once")
    func pipeliningOrder() throws {
        let channel = try channel()
        let three = (1...3).map { "GET /\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined()
        try channel.writeInbound(ByteBuffer(string: three))
        let text = try written(channel)
        #expect(statuses(text) == [404, 404, 404], "\(text)")
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test("Connection: close on the request closes after the answer; HTTP/1.0 without keep-alive too")
    func closeRequested() throws {
        for request in ["GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"] {
            let channel = try channel()
            try channel.writeInbound(ByteBuffer(string: request))
            channel.embeddedEventLoop.run()
            let text = try written(channel)
            #expect(text.range(of: #"^HTTP/1\.[01] 404 "#, options: .regularExpression) != nil, "\(text)")
            #expect(text.lowercased().contains("connection: close"), "\(text)")
            #expect(!channel.isActive, "\(request.debugDescription)")
        }
    }

    @Test("a smuggling attempt is refused with 400, nothing after it is read, and the connection closes")
    func smugglingRefused() throws {
        let channel = try channel()
        let request = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n"
        try channel.writeInbound(ByteBuffer(string: request))
        channel.embeddedEventLoop.run()
        let text = try written(channel)
        #expect(statuses(text) == [400], "\(text)")
        #expect(!channel.isActive)
    }

    @Test("the limits the node sets are the ones enforced: header size, header count, URI length")
    func limitsEnforced() throws {
        let limits = ProxyLimits(maxHeaderBytes: 1024, maxHeaderCount: 4, maxURILength: 300)
        let cases: [(String, Int)] = [
            ("GET / HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "p", count: 2000))\r\n\r\n", 431),
            ("GET / HTTP/1.1\r\nHost: x\r\n" + (1...5).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431),
            ("GET /\(String(repeating: "u", count: 400)) HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "p", count: 500))\r\n\r\n", 404),
        ]
        for (request, status) in cases {
            let channel = try channel(limits: limits)
            try channel.writeInbound(ByteBuffer(string: request))
            channel.embeddedEventLoop.run()
            let text = try written(channel)
            #expect(statuses(text) == [status], "\(request.prefix(40).debugDescription): \(text.prefix(200))")
            _ = try? channel.finish()
        }
    }

    @Test("a request head split across many reads is framed as one request")
    func splitHead() throws {
        let channel = try channel()
        let request = "GET /split HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n"
        for byte in request.utf8 {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        #expect(statuses(try written(channel)) == [404])
        _ = try? channel.finish()
    }
}
