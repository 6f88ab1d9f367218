import Balancer
import NIOCore
import NIOHTTP1

/// Sends one `GET` when the connection becomes active and completes the probe with the first final
/// response status; a close or an error before that completes it as a failure.
final class HTTPProbeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private let path: String
    private let host: String
    private let headers: [(String, String)]
    private let promise: EventLoopPromise<ProbeResult>

    init(path: String, host: String, headers: [(String, String)], promise: EventLoopPromise<ProbeResult>) {
        self.path = path
        self.host = host
        self.headers = headers
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        var fields = HTTPHeaders()
        fields.add(name: "Host", value: host)
        fields.add(name: "User-Agent", value: "switchyard-probe")
        fields.add(name: "Connection", value: "close")
        for (name, value) in headers { fields.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: fields)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data), head.status.code >= 200 {
            promise.succeed(.status(Int(head.status.code)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(.failure)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.succeed(.failure)
        context.close(promise: nil)
    }
}
