import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A minimal HTTPS client over NIOSSL with full certificate verification, and a plain TCP sender; both bounded
/// in time so a wedged server fails the test instead of hanging it.
public enum TLSProbe {
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
    }

    public struct Timeout: Error {}
    public struct NoAnswer: Error {}
    /// The connection closed before an answer and TLS reported no error: says which step was under way.
    public struct ClosedEarly: Error, CustomStringConvertible {
        public var step: String
        public var underlying: String
        public var description: String { "connection closed during \(step): \(underlying)" }
    }

    /// Keeps the first error the TLS handler raises, which NIOAsyncChannel would otherwise turn into a plain close.
    final class ErrorRecorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        private let box = NIOLockedValueBox<(any Error)?>(nil)

        var error: (any Error)? { box.withLockedValue { $0 } }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            box.withLockedValue { if $0 == nil { $0 = error } }
            context.fireErrorCaught(error)
        }
    }

    public static func get(_ path: String, host: String = "127.0.0.1", port: Int, serverName: String,
                           trust: [NIOSSLCertificate]) async throws -> Answer {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        configuration.trustRoots = .certificates(trust)
        let context = try NIOSSLContext(configuration: configuration)
        let recorder = ErrorRecorder()
        return try await bounded {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // No SNI for an address: NIOSSL then checks the certificate's IP entries against the peer.
                        let sni = serverName.first?.isNumber == true ? nil : serverName
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: context, serverHostname: sni))
                        try channel.pipeline.syncOperations.addHandler(recorder)
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                            wrappingChannelSynchronously: channel)
                    }
                }
            do {
                return try await exchange(channel, path: path, serverName: serverName, recorder: recorder)
            } catch {
                // A failed handshake closes the channel: a write may then fail first, with the TLS error recorded.
                if let tlsError = recorder.error { throw tlsError }
                throw ClosedEarly(step: "the request to \(host):\(port)\(path)", underlying: "\(error)")
            }
        }
    }

    private static func exchange(_ channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>,
                                 path: String, serverName: String, recorder: ErrorRecorder) async throws -> Answer {
        try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
            head.headers.add(name: "Host", value: serverName)
            head.headers.add(name: "Connection", value: "close")
            try await outbound.write(.head(head))
            try await outbound.write(.end(nil))
            var status = 0
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case let .head(response): status = Int(response.status.code)
                case var .body(chunk): body.writeBuffer(&chunk)
                case .end: return Answer(status: status, body: String(buffer: body))
                }
            }
            // The connection closed without a whole answer: the TLS error, when there was one, says why.
            throw recorder.error ?? NoAnswer()
        }
    }

    /// Sends `text` over plain TCP and returns whatever comes back before the server closes the connection.
    public static func plain(_ text: String, port: Int) async throws -> String {
        try await bounded {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: text))
                var received = ByteBuffer()
                do {
                    for try await var chunk in inbound { received.writeBuffer(&chunk) }
                } catch {
                    // A reset after the server drops the connection ends the reply like a close does.
                }
                return String(decoding: received.readableBytesView, as: UTF8.self)
            }
        }
    }

    private static func bounded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                throw Timeout()
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw Timeout() }
            return first
        }
    }
}
