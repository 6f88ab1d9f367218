#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import TestSupport
import Testing
@testable import Proxy

/// The direct engine's TCP channel over real loopback sockets: what NIO's handlers rely on (reads only when asked,
/// writes in order across partial writes, writability by the water marks, `close(mode: .output)` after the
/// queued writes, EOF and half-closure), with both ends on one `DirectEventLoop`.
@Suite("Direct socket channel", .timeLimit(.minutes(1)))
struct DirectSocketChannelTests {
    /// What a channel saw, readable from the test's thread. Bytes are checked against `pattern` as they arrive,
    /// so megabytes need no copy.
    struct Record: Sendable {
        var count = 0
        var mismatches = 0
        var text = ""
        var events: [String] = []
        var withheld = 0
    }

    static func pattern(_ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: index % 251) }

    final class Probe: ChannelDuplexHandler, DirectReadGate {
        typealias InboundIn = ByteBuffer
        typealias OutboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let record: NIOLockedValueBox<Record>
        var paused: Bool
        let keepText: Bool
        /// Written back, then the channel closes, when the peer shuts its output.
        let answerOnInputClosed: String?

        init(record: NIOLockedValueBox<Record>, paused: Bool = false, keepText: Bool = false,
             answerOnInputClosed: String? = nil) {
            self.record = record
            self.paused = paused
            self.keepText = keepText
            self.answerOnInputClosed = answerOnInputClosed
        }

        func admitRead() -> Bool {
            if paused { record.withLockedValue { $0.withheld += 1 } }
            return !paused
        }

        func read(context: ChannelHandlerContext) {
            if admitRead() { context.read() }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            record.withLockedValue { record in
                buffer.withUnsafeReadableBytes { bytes in
                    for (offset, byte) in bytes.enumerated() where byte != DirectSocketChannelTests.pattern(record.count + offset) {
                        record.mismatches += 1
                    }
                }
                record.count += buffer.readableBytes
                if keepText { record.text += String(buffer: buffer) }
            }
        }

        func channelActive(context: ChannelHandlerContext) { note("active") }
        func channelInactive(context: ChannelHandlerContext) { note("inactive") }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            note("writable:\(context.channel.isWritable)")
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            switch event as? ChannelEvent {
            case .inputClosed?:
                note("inputClosed")
                if let answer = answerOnInputClosed {
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer)), promise: nil)
                    context.close(promise: nil)
                }
            case .outputClosed?:
                note("outputClosed")
            default:
                break
            }
        }

        private func note(_ event: String) { record.withLockedValue { $0.events.append(event) } }
    }

    /// A loop, a listener on it, and the channels and probes it accepted.
    struct Server {
        let loop: DirectEventLoop
        let fd: CInt
        let port: Int
        let listener: NIOLoopBound<DirectListener>
        let accepted: NIOLockedValueBox<[(channel: DirectSocketChannel, probe: NIOLoopBound<Probe>)]>
        let record: NIOLockedValueBox<Record>

        static func start(paused: Bool = false, halfClosure: Bool = false, answerOnInputClosed: String? = nil,
                          keepText: Bool = false) async throws -> Server {
            let loop = try DirectEventLoop(index: 0)
            let fd = try ListenSocket.open(host: "127.0.0.1", port: 0, backlog: 16)
            let accepted = NIOLockedValueBox<[(channel: DirectSocketChannel, probe: NIOLoopBound<Probe>)]>([])
            let record = NIOLockedValueBox(Record())
            let listener = try await loop.submit {
                let listener = DirectListener(fd: fd, loop: loop, logger: Logger(label: "test")) { channel in
                    let probe = Probe(record: record, paused: paused, keepText: keepText,
                                      answerOnInputClosed: answerOnInputClosed)
                    if halfClosure { try channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true) }
                    channel.readGate = probe
                    try channel.pipeline.syncOperations.addHandler(probe)
                    accepted.withLockedValue { $0.append((channel, NIOLoopBound(probe, eventLoop: loop))) }
                }
                try listener.start()
                return NIOLoopBound(listener, eventLoop: loop)
            }.get()
            let port = try #require(DirectSocket.localAddress(fd)?.port)
            return Server(loop: loop, fd: fd, port: port, listener: listener, accepted: accepted, record: record)
        }

        func connect(record: NIOLockedValueBox<Record>, keepText: Bool = false) async throws -> any Channel {
            let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
            let loop = self.loop
            return try await loop.flatSubmit {
                DirectSocketChannel.connect(to: address, on: loop, timeout: .seconds(2)) { channel in
                    try channel.pipeline.syncOperations.addHandler(Probe(record: record, keepText: keepText))
                }
            }.get()
        }

        /// Lets the accepted connection read again.
        func resume() async throws {
            let first = try #require(accepted.withLockedValue { $0.first })
            try await loop.submit {
                first.probe.value.paused = false
                first.channel.read()
            }.get()
        }

        func stop() async {
            let listener = self.listener
            try? await loop.submit { listener.value.stop() }.get()
            ListenSocket.close(fd)
            try? await loop.shutdownGracefully()
        }
    }

    /// Writes `chunks` pattern chunks of `size` bytes (continuing the pattern) and flushes once.
    static func writePattern(_ channel: any Channel, chunks: Int, size: Int) async throws -> [EventLoopFuture<Void>] {
        try await channel.eventLoop.submit {
            var futures: [EventLoopFuture<Void>] = []
            for chunk in 0..<chunks {
                var buffer = channel.allocator.buffer(capacity: size)
                for i in 0..<size { buffer.writeInteger(Self.pattern(chunk * size + i)) }
                futures.append(channel.write(buffer))
            }
            channel.flush()
            return futures
        }.get()
    }

    /// Answers each read with "pong", noting whether the write had completed when `writeAndFlush` returned, and
    /// closes after answering when asked.
    final class Answerer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let completedInline: NIOLockedValueBox<[Bool]>
        let closeAfterAnswer: Bool

        init(completedInline: NIOLockedValueBox<[Bool]>, closeAfterAnswer: Bool) {
            self.completedInline = completedInline
            self.closeAfterAnswer = closeAfterAnswer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var completed = false
            let promise = context.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { _ in completed = true }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "pong")), promise: promise)
            completedInline.withLockedValue { $0.append(completed) }
            if closeAfterAnswer { context.close(promise: nil) }
        }
    }

    @Test("a flush while the loop hands out a round's events is written when the round's events are done; a close right after it still sends it")
    func flushesDuringARoundAreWrittenAtItsEnd() async throws {
        for closeAfterAnswer in [false, true] {
            let loop = try DirectEventLoop(index: 0)
            let fd = try ListenSocket.open(host: "127.0.0.1", port: 0, backlog: 16)
            let completedInline = NIOLockedValueBox<[Bool]>([])
            let listener = try await loop.submit {
                let listener = DirectListener(fd: fd, loop: loop, logger: Logger(label: "test")) { channel in
                    try channel.pipeline.syncOperations.addHandler(
                        Answerer(completedInline: completedInline, closeAfterAnswer: closeAfterAnswer))
                }
                try listener.start()
                return NIOLoopBound(listener, eventLoop: loop)
            }.get()
            let port = try #require(DirectSocket.localAddress(fd)?.port)
            let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
            // Three clients write in one go; their answers all leave, whether written in one round or several.
            var records: [NIOLockedValueBox<Record>] = []
            var clients: [any Channel] = []
            for _ in 0..<3 {
                let record = NIOLockedValueBox(Record())
                records.append(record)
                clients.append(try await loop.flatSubmit {
                    DirectSocketChannel.connect(to: address, on: loop, timeout: .seconds(2)) { channel in
                        try channel.pipeline.syncOperations.addHandler(Probe(record: record, keepText: true))
                    }
                }.get())
            }
            let connected = clients
            try await loop.submit {
                for client in connected { client.writeAndFlush(ByteBuffer(string: "ping"), promise: nil) }
            }.get()
            let answered = await waitFor(.seconds(5)) {
                records.allSatisfy { $0.withLockedValue { $0.text == "pong" } }
                    && (!closeAfterAnswer || records.allSatisfy { $0.withLockedValue { $0.events.contains("inactive") } })
            }
            #expect(answered != nil, "close after answer: \(closeAfterAnswer)")
            #expect(completedInline.withLockedValue { $0 } == [false, false, false],
                    "the answers were written after their reads' handlers returned")
            // Outside a round (a task on the loop), a flush is written at once.
            let inline = try await loop.submit {
                var completed = false
                connected[0].writeAndFlush(ByteBuffer(string: "x")).whenComplete { _ in completed = true }
                return completed
            }.get()
            #expect(inline, "completed at once: written, or failed on the connection the server closed")
            for client in clients { try? await client.close() }
            try? await loop.submit { listener.value.stop() }.get()
            ListenSocket.close(fd)
            try? await loop.shutdownGracefully()
        }
    }

    @Test func megabytesAcrossPartialWritesArriveInOrderAndWritabilityFollowsTheWaterMarks() async throws {
        let server = try await Server.start(paused: true)
        let clientRecord = NIOLockedValueBox(Record())
        let client = try await server.connect(record: clientRecord)
        let total = 32 << 20
        let writes = try await Self.writePattern(client, chunks: total >> 16, size: 1 << 16)
        // The peer does not read: the kernel's buffers fill, the rest waits in the channel.
        #expect(try await client.eventLoop.submit { client.isWritable }.get() == false)
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.record.withLockedValue { $0.count } == 0, "a withheld read reads nothing")
        #expect(server.record.withLockedValue { $0.withheld } >= 1)

        try await server.resume()
        let arrived = await waitFor(.seconds(20)) { server.record.withLockedValue { $0.count } == total }
        #expect(arrived != nil)
        #expect(server.record.withLockedValue { $0.mismatches } == 0)
        for write in writes { try await write.get() }
        #expect(client.isWritable)
        #expect(clientRecord.withLockedValue { $0.events } == ["active", "writable:false", "writable:true"])
        try await client.close()
        await server.stop()
    }

    @Test func closingTheOutputWaitsForTheQueuedWritesThenSendsEOF() async throws {
        let server = try await Server.start(paused: true)
        let clientRecord = NIOLockedValueBox(Record())
        let client = try await server.connect(record: clientRecord)
        let total = 8 << 20
        let writes = try await Self.writePattern(client, chunks: total >> 16, size: 1 << 16)
        let shut = try await client.eventLoop.submit { client.close(mode: .output) }.get()
        try await server.resume()
        try await shut.get()
        for write in writes { try await write.get() }
        // The server read everything, then the EOF closed it (no half-closure), which the client sees as EOF.
        let closed = await waitFor(.seconds(10)) {
            server.record.withLockedValue { $0.events.contains("inactive") }
                && clientRecord.withLockedValue { $0.events.contains("inactive") }
        }
        #expect(closed != nil)
        #expect(server.record.withLockedValue { $0.count } == total)
        #expect(server.record.withLockedValue { $0.mismatches } == 0)
        #expect(clientRecord.withLockedValue { $0.events }.contains("outputClosed"))
        await server.stop()
    }

    @Test func withHalfClosureTheInputEndsAndTheOutputStillWrites() async throws {
        let server = try await Server.start(halfClosure: true, answerOnInputClosed: "bye", keepText: true)
        let clientRecord = NIOLockedValueBox(Record())
        let client = try await server.connect(record: clientRecord, keepText: true)
        try await client.eventLoop.submit {
            client.writeAndFlush(ByteBuffer(bytes: (0..<5).map(Self.pattern)), promise: nil)
            client.close(mode: .output, promise: nil)
        }.get()
        let answered = await waitFor(.seconds(5)) { clientRecord.withLockedValue { $0.events.contains("inactive") } }
        #expect(answered != nil)
        #expect(clientRecord.withLockedValue { $0.text } == "bye")
        #expect(server.record.withLockedValue { $0.count } == 5)
        #expect(server.record.withLockedValue { $0.events } == ["active", "inputClosed", "inactive"])
        await server.stop()
    }

    @Test func aRefusedConnectFailsWithTheSystemError() async throws {
        let loop = try DirectEventLoop(index: 0)
        let fd = try ListenSocket.open(host: "127.0.0.1", port: 0, backlog: 1)
        let port = try #require(DirectSocket.localAddress(fd)?.port)
        ListenSocket.close(fd)
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let record = NIOLockedValueBox(Record())
        do {
            _ = try await loop.flatSubmit {
                DirectSocketChannel.connect(to: address, on: loop, timeout: .seconds(2)) { channel in
                    try channel.pipeline.syncOperations.addHandler(Probe(record: record))
                }
            }.get()
            Issue.record("connected to a closed port")
        } catch let error as IOError {
            #expect(error.errnoCode == ECONNREFUSED)
        }
        #expect(record.withLockedValue { $0.events }.isEmpty, "never active")
        try await loop.shutdownGracefully()
    }
}
