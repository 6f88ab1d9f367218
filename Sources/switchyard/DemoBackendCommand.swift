import ArgumentParser
import NIOCore
import NIOHTTP1
import NIOPosix

/// `switchyard demo-backend`: a tiny HTTP server for the quickstart and for trying routes by hand. It
/// answers every request with its own name and what it received, and `GET /health` with 200.
struct DemoBackendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-backend",
        abstract: "Run a small HTTP backend that says who it is (for the quickstart and experiments)."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port: Int

    @Option(help: "Name shown in every response.")
    var name = "backend"

    func run() async throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1-65535") }
        let name = self.name
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DemoBackendHandler(name: name))
                    }
                }
            }
            .bind(host: host, port: port).get()
        emit("\(name) listening on \(host):\(port)")
        try await channel.closeFuture.get()
    }
}

/// Answers each request with a short text naming this backend, the method, the path and the Host header.
final class DemoBackendHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let name: String
    private var head: HTTPRequestHead?

    init(name: String) {
        self.name = name
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            let text = head.uri == "/health"
                ? "ok\n"
                : "\(name): \(head.method) \(head.uri) host=\(head.headers.first(name: "host") ?? "-")\n"
            var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            headers.add(name: "content-length", value: "\(buffer.readableBytes)")
            headers.add(name: "x-backend", value: name)
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let channel = context.channel
                done.whenComplete { _ in channel.close(promise: nil) }
            }
            self.head = nil
        }
    }
}
