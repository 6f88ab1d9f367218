import Atomics
import Balancer
import DNSWire
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A loopback HTTP backend whose behaviour is chosen by the request path:
/// `/hello`, `/echo` (request line, headers and body echoed back), `/sink` (counts a streamed body),
/// `/source?n=BYTES` (streams a body with back-pressure), `/chunked`, `/slow?ms=`, `/status?code=`,
/// `/reset` (closes without answering), `/continue` (answers `Expect: 100-continue`).
public final class TestBackend: Sendable {
    public let name: String
    public let group: MultiThreadedEventLoopGroup
    public let channel: any Channel
    private let connections: ManagedAtomic<Int>
    private let requests: ManagedAtomic<Int>

    public var port: Int { channel.localAddress?.port ?? 0 }
    public var address: Address { Address(ip: .v4(0x7F00_0001), port: UInt16(port)) }

    private init(
        name: String, group: MultiThreadedEventLoopGroup, channel: any Channel,
        connections: ManagedAtomic<Int>, requests: ManagedAtomic<Int>
    ) {
        self.name = name
        self.group = group
        self.channel = channel
        self.connections = connections
        self.requests = requests
    }

    /// With `tls`, the backend speaks HTTPS only (a plain-HTTP client gets a TLS alert).
    /// `host` is the loopback address to listen on (127.0.0.1 unless a test needs another one).
    public static func start(name: String, tls: NIOSSLContext? = nil, host: String = "127.0.0.1") async throws -> TestBackend {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let connections = ManagedAtomic<Int>(0)
        let requests = ManagedAtomic<Int>(0)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                connections.wrappingIncrement(ordering: .relaxed)
                if let tls {
                    do {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }
                return channel.pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false).flatMap {
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            BackendHandler(name: name, requests: requests)
                        )
                    }
                }
            }
            .bind(host: host, port: 0)
            .get()
        return TestBackend(name: name, group: group, channel: channel, connections: connections, requests: requests)
    }

    /// TCP connections accepted so far.
    public var connectionCount: Int { connections.load(ordering: .relaxed) }
    /// Request heads received so far.
    public var requestCount: Int { requests.load(ordering: .relaxed) }

    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// Serves one backend connection (see `TestBackend` for the paths).
final class BackendHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let name: String
    private let requests: ManagedAtomic<Int>
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var received = 0
    private var toSend = 0
    private var sending = false

    init(name: String, requests: ManagedAtomic<Int>) {
        self.name = name
        self.requests = requests
    }

    private var path: Substring {
        guard let uri = head?.uri else { return "" }
        return uri.split(separator: "?", maxSplits: 1).first ?? ""
    }

    private func query(_ key: String) -> Int? {
        guard let uri = head?.uri, let q = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2 && kv[0] == key { return Int(kv[1]) }
        }
        return nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            requests.wrappingIncrement(ordering: .relaxed)
            self.head = head
            body = context.channel.allocator.buffer(capacity: 0)
            received = 0
            switch path {
            case "/reset":
                context.close(promise: nil)
            case "/continue":
                if head.headers["expect"].first?.lowercased() == "100-continue" {
                    context.writeAndFlush(wrapOutboundOut(.head(.init(version: .http1_1, status: .continue))), promise: nil)
                }
            default:
                break
            }
        case .body(var part):
            received += part.readableBytes
            if path != "/sink" { body.writeBuffer(&part) }
        case .end:
            respond(context: context)
        }
    }

    private func respond(context: ChannelHandlerContext) {
        guard let head else { return }
        switch path {
        case "/echo", "/continue":
            var text = "\(head.method.rawValue) \(head.uri) HTTP/\(head.version.major).\(head.version.minor)\n"
            for (name, value) in head.headers { text += "\(name): \(value)\n" }
            text += "\n"
            var out = context.channel.allocator.buffer(string: text)
            out.writeBuffer(&body)
            send(context: context, status: .ok, body: out)
        case "/sink":
            send(context: context, status: .ok, body: context.channel.allocator.buffer(string: "received \(received)"))
        case "/source":
            toSend = query("n") ?? 0
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: String(toSend))
            headers.add(name: "X-Backend", value: name)
            context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            sending = true
            pump(context: context)
        case "/chunked":
            var headers = HTTPHeaders()
            headers.add(name: "Transfer-Encoding", value: "chunked")
            headers.add(name: "X-Backend", value: name)
            context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            for piece in ["alpha-", "beta-", "gamma"] {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: piece)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case "/slow":
            let delay = TimeAmount.milliseconds(Int64(query("ms") ?? 1000))
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: delay) {
                let (handler, context) = bound.value
                handler.send(context: context, status: .ok, body: context.channel.allocator.buffer(string: "slow"))
            }
        case "/status":
            let code = query("code") ?? 500
            send(context: context, status: .init(statusCode: code), body: context.channel.allocator.buffer(string: "status \(code)"))
        default:
            send(context: context, status: .ok, body: context.channel.allocator.buffer(string: "hello from \(name)"))
        }
    }

    private func send(context: ChannelHandlerContext, status: HTTPResponseStatus, body: ByteBuffer) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "X-Backend", value: name)
        headers.add(name: "Keep-Alive", value: "timeout=5")
        context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Writes the `/source` body while the channel is writable: memory stays bounded by the socket buffer.
    private func pump(context: ChannelHandlerContext) {
        let chunk = 64 * 1024
        while sending && toSend > 0 && context.channel.isWritable {
            let n = min(chunk, toSend)
            var buffer = context.channel.allocator.buffer(capacity: n)
            buffer.writeRepeatingByte(UInt8(ascii: "x"), count: n)
            toSend -= n
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if sending && toSend == 0 {
            sending = false
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && sending { pump(context: context) }
        context.fireChannelWritabilityChanged()
    }
}
