import NIOCore

/// Replaces the HTTP decoder after a 101: the client's bytes go to the upstream unchanged.
final class ClientTunnelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let proxy: ProxyConnectionHandler

    init(proxy: ProxyConnectionHandler) {
        self.proxy = proxy
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        proxy.tunnelFromClient(unwrapInboundIn(data))
    }
}
