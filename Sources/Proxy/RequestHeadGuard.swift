#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Sits in front of the HTTP decoder and counts the bytes of the request head being received, so an
/// overlong request line (414), an oversized head (431) and a head that trickles in (408) are caught
/// before the decoder buffers them.
final class RequestHeadGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let proxy: ProxyConnectionHandler
    private let maxLineBytes: Int
    private let maxHeadBytes: Int

    init(proxy: ProxyConnectionHandler, limits: ProxyLimits) {
        self.proxy = proxy
        self.maxLineBytes = limits.maxURILength + 64
        self.maxHeadBytes = limits.maxHeaderBytes + limits.maxURILength
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let progress = proxy.progress
        if progress.rejected { return }
        guard progress.awaitingHead else {
            context.fireChannelRead(data)
            return
        }
        let buffer = unwrapInboundIn(data)
        if progress.bytes == 0 { progress.startedAt = .now() }
        if !progress.sawLineEnd {
            if RequestHeadGuard.containsLineFeed(buffer) {
                progress.sawLineEnd = true
            } else if progress.bytes + buffer.readableBytes > maxLineBytes {
                proxy.rejectHead(status: 414, message: "request line too long")
                return
            }
        }
        progress.bytes += buffer.readableBytes
        context.fireChannelRead(data)
        if progress.awaitingHead && progress.bytes > maxHeadBytes && !progress.rejected {
            proxy.rejectHead(status: 431, message: "request header fields too large")
        }
    }
}

extension RequestHeadGuard {
    static func containsLineFeed(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return false }
            return memchr(base, 0x0A, bytes.count) != nil
        }
    }
}

/// Where the client's current request head stands; shared by the guard and the proxy handler.
final class HeadProgress {
    /// The decoder is between requests or inside a head (not inside a body).
    var awaitingHead = true
    var bytes = 0
    var sawLineEnd = false
    var startedAt: NIODeadline? = nil
    /// The connection is refusing input (an error answer is on its way, then close).
    var rejected = false

    func headReceived() {
        awaitingHead = false
        bytes = 0
        sawLineEnd = false
        startedAt = nil
    }

    func messageEnded() {
        awaitingHead = true
    }
}
