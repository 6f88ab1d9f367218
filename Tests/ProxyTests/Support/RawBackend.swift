import Balancer
import DNSWire
import NIOCore
import NIOPosix

/// A loopback backend that speaks bytes, not HTTP: for responses a real server would not send and for
/// the WebSocket echo. It waits for a request head (`\r\n\r\n`), then acts by `mode`.
final class RawBackend: Sendable {
    enum Mode: Sendable {
        /// Writes these bytes for every request head; closes afterwards when `close`.
        case reply([UInt8], close: Bool)
        /// Answers 101 and then echoes every byte back (a WebSocket stand-in).
        case upgradeEcho
        /// Accepts connections and never reads from them, with a small receive buffer: an upstream that
        /// stopped taking the request body.
        case silent
    }

    let group: MultiThreadedEventLoopGroup
    let channel: any Channel

    var port: Int { channel.localAddress?.port ?? 0 }
    var address: Address { Address(ip: .v4(0x7F00_0001), port: UInt16(port)) }

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.group = group
        self.channel = channel
    }

    static func start(_ mode: Mode) async throws -> RawBackend {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let silent: Bool
        if case .silent = mode { silent = true } else { silent = false }
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        if silent {
            bootstrap = bootstrap
                .serverChannelOption(.socketOption(.so_rcvbuf), value: 4096)
                .childChannelOption(.autoRead, value: false)
        }
        let channel = try await bootstrap
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawBackendHandler(mode: mode))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return RawBackend(group: group, channel: channel)
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

final class RawBackendHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let mode: RawBackend.Mode
    private var pending = ByteBuffer()
    private var tunnelling = false

    init(mode: RawBackend.Mode) {
        self.mode = mode
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        if tunnelling {
            context.writeAndFlush(wrapOutboundOut(input), promise: nil)
            return
        }
        pending.writeBuffer(&input)
        while let end = pending.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) {
            let headLength = end.upperBound - pending.readableBytesView.startIndex
            pending.moveReaderIndex(forwardBy: headLength)
            switch mode {
            case .reply(let bytes, let close):
                let out = context.channel.allocator.buffer(bytes: bytes)
                if close {
                    context.writeAndFlush(wrapOutboundOut(out)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                    return
                }
                context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            case .silent:
                return
            case .upgradeEcho:
                let answer =
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
                context.write(wrapOutboundOut(context.channel.allocator.buffer(string: answer)), promise: nil)
                tunnelling = true
                if pending.readableBytes > 0 {
                    context.write(wrapOutboundOut(pending), promise: nil)
                    pending.clear()
                }
                context.flush()
                return
            }
        }
    }
}
