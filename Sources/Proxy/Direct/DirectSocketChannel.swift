import Atomics
import CDirectIO
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection run by a `DirectEventLoop`: a NIO `Channel` whose pipeline, handlers and futures behave as on
/// NIO's own socket channel, with the socket I/O done here in a few hundred instructions per request.
///
/// What it does as NIO does: reads only while a read is pending (`read()`, issued again after each read batch
/// while `autoRead` is on, so a handler that withholds `read` pauses the socket), one `channelReadComplete` per
/// batch, writes queued until `flush`, writability by the write-buffer water marks, `close(mode: .output)` after
/// the queued writes, EOF as a close (or `ChannelEvent.inputClosed` with `allowRemoteHalfClosure`), and
/// `channelInactive`, `channelUnregistered` and the handlers' removal on close, in that order.
///
/// `@unchecked Sendable`: the mutable state is touched only on the loop's thread (every `ChannelCore` entry
/// point is called there by the pipeline; `ready` by the loop). What other threads may read (`isActive`,
/// `isWritable`, the addresses) is atomic or locked.
final class DirectSocketChannel: Channel, ChannelCore, DirectSelectable, @unchecked Sendable {
    let loop: DirectEventLoop
    var eventLoop: any EventLoop { loop }
    let allocator: ByteBufferAllocator
    var parent: (any Channel)? { nil }
    var _channelCore: any ChannelCore { self }
    /// Set once, at the end of `init` (it needs `self`); never changed.
    private var _pipeline: ChannelPipeline!
    var pipeline: ChannelPipeline { _pipeline }
    private let closePromise: EventLoopPromise<Void>
    var closeFuture: EventLoopFuture<Void> { closePromise.futureResult }

    private let addresses: NIOLockedValueBox<(local: SocketAddress?, remote: SocketAddress?)>
    var localAddress: SocketAddress? { addresses.withLockedValue { $0.local } }
    var remoteAddress: SocketAddress? { addresses.withLockedValue { $0.remote } }
    private let active = ManagedAtomic(false)
    private let writable = ManagedAtomic(true)
    var isActive: Bool { active.load(ordering: .relaxed) }
    var isWritable: Bool { writable.load(ordering: .relaxed) }

    // The loop's thread only. `@exclusivity(unchecked)`: one thread, and no access to these spans a call out of
    // this class (the pipeline's events, promises and the read gate are called after the access ended; `writes`
    // is only changed by `CircularBuffer`'s own methods), so the dynamic exclusivity checks, about 20 per request,
    // can never fail; the compiler's static checks still apply.
    @exclusivity(unchecked) private var fd: CInt
    @exclusivity(unchecked) private var token: UInt64 = 0
    @exclusivity(unchecked) private var registered = false
    /// The epoll events asked for (applied at registration when not registered yet).
    @exclusivity(unchecked) private var interest: UInt32 = 0
    @exclusivity(unchecked) private var isOpen = true
    @exclusivity(unchecked) private var connecting: (promise: EventLoopPromise<Void>, timeout: Scheduled<Void>?)? = nil
    @exclusivity(unchecked) private var readPending = false
    @exclusivity(unchecked) private var autoRead = true
    @exclusivity(unchecked) private var allowRemoteHalfClosure = false
    @exclusivity(unchecked) private var inputClosed = false
    @exclusivity(unchecked) private var outputClosed = false
    /// `close(mode: .output)` waits for the queued writes: its promise, once asked.
    @exclusivity(unchecked) private var outputClose: EventLoopPromise<Void>?? = nil
    @exclusivity(unchecked) private var writes = CircularBuffer<(buffer: ByteBuffer, promise: EventLoopPromise<Void>?)>(initialCapacity: 4)
    /// The first `flushed` entries of `writes` are flushed.
    @exclusivity(unchecked) private var flushed = 0
    @exclusivity(unchecked) private var pendingBytes = 0
    @exclusivity(unchecked) private var inWriteLoop = false
    /// Flushed while the loop dispatched readiness: written at the end of the round (`writeDeferredFlush`).
    @exclusivity(unchecked) private var flushDeferred = false
    @exclusivity(unchecked) private var waterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 32 * 1024, high: 64 * 1024)
    /// The one handler of this pipeline that intercepts `read` (for back-pressure), asked directly instead of
    /// walking the pipeline for every read: set only by code that builds a pipeline where no other handler
    /// implements `read(context:)`. Cleared on close.
    @exclusivity(unchecked) var readGate: (any DirectReadGate)? = nil

    private static let maxReadsPerEvent = 4
    private static let maxWriteVectors = 64

    private init(fd: CInt, loop: DirectEventLoop, local: SocketAddress?, remote: SocketAddress?) {
        self.fd = fd
        self.loop = loop
        self.allocator = loop.allocator
        self.closePromise = loop.makePromise()
        self.addresses = NIOLockedValueBox((local, remote))
        self._pipeline = nil
        self._pipeline = ChannelPipeline(channel: self)
    }

    // MARK: Making channels

    /// Wraps a socket `accept4` returned (non-blocking), runs `initialize` to add the handlers, and starts it:
    /// registered, active, reading.
    static func accepted(fd: CInt, loop: DirectEventLoop, remote: SocketAddress?,
                         initialize: (DirectSocketChannel) throws -> Void) {
        DirectSocket.setNoDelay(fd)
        let channel = DirectSocketChannel(fd: fd, loop: loop, local: DirectSocket.localAddress(fd), remote: remote)
        do {
            try initialize(channel)
            channel.pipeline.syncOperations.fireChannelRegistered()
            channel.becomeActive()
            try channel.register()
        } catch {
            channel.pipeline.syncOperations.fireErrorCaught(error)
            channel.close0(error: error, mode: .all, promise: nil)
        }
    }

    /// Opens a non-blocking TCP connection to `address` on `loop` (its thread only). `initialize` adds the handlers
    /// before the connection is made, as `ClientBootstrap`'s channel initializer does. The future fails with
    /// `ChannelError.connectTimeout` after `timeout`, or with the connect's `IOError`.
    static func connect(to address: SocketAddress, on loop: DirectEventLoop, timeout: TimeAmount,
                        initialize: (DirectSocketChannel) throws -> Void) -> EventLoopFuture<any Channel> {
        loop.preconditionInEventLoop()
        let fd: CInt
        do {
            fd = try DirectSocket.openStream(family: address.protocol.rawValue)
        } catch {
            return loop.makeFailedFuture(error)
        }
        DirectSocket.setNoDelay(fd)
        let channel = DirectSocketChannel(fd: fd, loop: loop, local: nil, remote: address)
        do {
            try initialize(channel)
            channel.pipeline.syncOperations.fireChannelRegistered()
            let done = try address.withSockAddr { pointer, size in
                try DirectSocket.connect(fd, pointer, socklen_t(size))
            }
            if done {
                channel.becomeActive()
                try channel.register()
                return loop.makeSucceededFuture(channel)
            }
            let promise = loop.makePromise(of: Void.self)
            let scheduled = loop.assumeIsolated().scheduleTask(in: timeout) { [channel] in
                channel.close0(error: ChannelError.connectTimeout(timeout), mode: .all, promise: nil)
            }
            channel.connecting = (promise, scheduled)
            channel.interest = EPOLLOUT.rawValue
            try channel.register()
            return promise.futureResult.map { channel }
        } catch {
            channel.close0(error: error, mode: .all, promise: nil)
            return loop.makeFailedFuture(error)
        }
    }

    private func register() throws {
        guard isOpen, !registered else { return }
        token = try loop.register(fd, events: interest, for: self)
        registered = true
    }

    private func becomeActive() {
        if addresses.withLockedValue({ $0.local }) == nil {
            let local = DirectSocket.localAddress(fd)
            addresses.withLockedValue { $0.local = local }
        }
        active.store(true, ordering: .relaxed)
        pipeline.syncOperations.fireChannelActive()
        readIfNeeded()
        updateInterest()
    }

    // MARK: Readiness

    func ready(_ events: UInt32) {
        guard isOpen else { return }
        if connecting != nil { return finishConnecting() }
        if events & EPOLLERR.rawValue != 0 {
            let code = DirectSocket.pendingError(fd)
            if code != 0 {
                let error = IOError(errnoCode: code, reason: "socket")
                pipeline.syncOperations.fireErrorCaught(error)
                return close0(error: error, mode: .all, promise: nil)
            }
        }
        if events & EPOLLOUT.rawValue != 0 && flushed > 0 {
            writeFlushed()
            guard isOpen else { return }
        }
        if events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            if readPending && !inputClosed {
                readFromSocket()
            } else if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                // Both directions are gone and nobody reads: nothing more can happen on this socket.
                close0(error: ChannelError.eof, mode: .all, promise: nil)
            }
        }
    }

    private func finishConnecting() {
        guard let (promise, timeout) = connecting else { return }
        let code = DirectSocket.pendingError(fd)
        if code == EINPROGRESS || code == EALREADY { return }
        connecting = nil
        timeout?.cancel()
        if code != 0 {
            let error = IOError(errnoCode: code, reason: "connect")
            promise.fail(error)
            return close0(error: error, mode: .all, promise: nil)
        }
        becomeActive()
        if flushed > 0 { writeFlushed() }
        promise.succeed(())
    }

    private func readFromSocket() {
        var readAny = false
        for _ in 0..<Self.maxReadsPerEvent {
            loop.receiveBuffer.clear()
            let fd = self.fd
            let result = loop.receiveBuffer.withUnsafeMutableWritableBytes { bytes in
                // `recv`, not `read`: the same bytes without the file layer's checks on the way to the socket.
                Glibc.recv(fd, bytes.baseAddress, bytes.count, 0)
            }
            if result > 0 {
                loop.receiveBuffer.moveWriterIndex(forwardBy: result)
                readPending = false
                readAny = true
                let filled = loop.receiveBuffer.writableBytes == 0
                pipeline.syncOperations.fireChannelRead(NIOAny(loop.receiveBuffer))
                guard isOpen, filled else { break }
            } else if result == 0 {
                if readAny { pipeline.syncOperations.fireChannelReadComplete() }
                guard isOpen else { return }
                if allowRemoteHalfClosure {
                    inputClosed = true
                    readPending = false
                    updateInterest()
                    pipeline.syncOperations.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
                } else {
                    close0(error: ChannelError.eof, mode: .all, promise: nil)
                }
                return
            } else {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { break }
                if readAny { pipeline.syncOperations.fireChannelReadComplete() }
                guard isOpen else { return }
                let error = IOError(errnoCode: code, reason: "recv")
                pipeline.syncOperations.fireErrorCaught(error)
                return close0(error: error, mode: .all, promise: nil)
            }
        }
        if readAny {
            pipeline.syncOperations.fireChannelReadComplete()
        }
        guard isOpen else { return }
        readIfNeeded()
        updateInterest()
    }

    private func readIfNeeded() {
        guard isOpen && isActive && !readPending && autoRead && !inputClosed else { return }
        if let readGate {
            if readGate.admitRead() { read0() }
        } else {
            pipeline.syncOperations.read()
        }
    }

    private func updateInterest() {
        guard isOpen else { return }
        var desired: UInt32 = 0
        if readPending && !inputClosed && connecting == nil { desired |= EPOLLIN.rawValue }
        if connecting != nil || (flushed > 0 && !flushDeferred) { desired |= EPOLLOUT.rawValue }
        guard desired != interest else { return }
        interest = desired
        if registered { loop.reregister(fd, token: token, events: desired) }
    }

    // MARK: Writing

    /// Writes the flushed entries until they are out or the socket would block (then waits for `EPOLLOUT`).
    private func writeFlushed() {
        guard !inWriteLoop, connecting == nil, isOpen else { return }
        if flushed == 1 && writes.count == 1 && writeTheOnlyBuffer() { return }
        inWriteLoop = true
        var done: [EventLoopPromise<Void>] = []
        var failure: IOError? = nil
        while flushed > 0 {
            while flushed > 0, let first = writes.first, first.buffer.readableBytes == 0 {
                _ = writes.removeFirst()
                flushed -= 1
                if let promise = first.promise { done.append(promise) }
            }
            guard flushed > 0 else { break }
            let written = gatherAndWrite()
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { break }
                failure = IOError(errnoCode: code, reason: "write")
                break
            }
            var left = written
            while left > 0, flushed > 0 {
                let size = writes[writes.startIndex].buffer.readableBytes
                if left >= size {
                    let entry = writes.removeFirst()
                    flushed -= 1
                    left -= size
                    pendingBytes -= size
                    if let promise = entry.promise { done.append(promise) }
                } else {
                    writes[writes.startIndex].buffer.moveReaderIndex(forwardBy: left)
                    pendingBytes -= left
                    left = 0
                }
            }
        }
        inWriteLoop = false
        if let failure {
            for promise in done { promise.succeed(()) }
            pipeline.syncOperations.fireErrorCaught(failure)
            return close0(error: failure, mode: .all, promise: nil)
        }
        settleAfterWriting()
        for promise in done { promise.succeed(()) }
        closeOutputIfDrained()
    }

    /// The usual flush, one buffer: sent without copying the queue's entry. True when it went out whole; otherwise
    /// what is left is back at the head of the queue for the general path.
    private func writeTheOnlyBuffer() -> Bool {
        var entry = writes.removeFirst()
        let size = entry.buffer.readableBytes
        let fd = self.fd
        let written = entry.buffer.withUnsafeReadableBytes { bytes in
            Glibc.send(fd, bytes.baseAddress, bytes.count, CInt(MSG_NOSIGNAL))
        }
        guard written == size else {
            if written > 0 {
                entry.buffer.moveReaderIndex(forwardBy: written)
                pendingBytes -= written
            }
            writes.prepend(entry)
            return false
        }
        flushed = 0
        pendingBytes -= size
        settleAfterWriting()
        entry.promise?.succeed(())
        closeOutputIfDrained()
        return true
    }

    /// After a write: `EPOLLOUT` only while something is blocked, and writable again below the low water mark.
    private func settleAfterWriting() {
        updateInterest()
        if !isWritable && pendingBytes < waterMark.low {
            writable.store(true, ordering: .relaxed)
            pipeline.syncOperations.fireChannelWritabilityChanged()
        }
    }

    /// A `close(mode: .output)` waiting for the queue is carried out once the queue is empty.
    private func closeOutputIfDrained() {
        if isOpen, writes.isEmpty, case .some(let promise) = outputClose {
            outputClose = nil
            shutDownOutput(promise)
        }
    }

    /// One `sendmsg` over up to 64 flushed buffers; the byte count, or -1 with `errno` set.
    private func gatherAndWrite() -> Int {
        let fd = self.fd
        let count = min(flushed, Self.maxWriteVectors)
        if count == 1 {
            return writes[writes.startIndex].buffer.withUnsafeReadableBytes { bytes in
                Glibc.send(fd, bytes.baseAddress, bytes.count, CInt(MSG_NOSIGNAL))
            }
        }
        return withUnsafeTemporaryAllocation(of: iovec.self, capacity: count) { vectors in
            var index = writes.startIndex
            for i in 0..<count {
                // The pointer outlives the closure, but not the buffer: `writes` holds every buffer (and so its
                // storage) unchanged until the call below returns.
                writes[index].buffer.withUnsafeReadableBytes { bytes in
                    vectors[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress),
                                       iov_len: bytes.count)
                }
                index = writes.index(after: index)
            }
            return cdirectio_writev_nosignal(fd, vectors.baseAddress, CInt(count))
        }
    }

    private func shutDownOutput(_ promise: EventLoopPromise<Void>?) {
        guard isOpen else {
            promise?.fail(ChannelError.alreadyClosed)
            return
        }
        outputClosed = true
        if Glibc.shutdown(fd, CInt(SHUT_WR)) != 0 && errno != ENOTCONN {
            let error = IOError(errnoCode: errno, reason: "shutdown")
            promise?.fail(error)
            return close0(error: error, mode: .all, promise: nil)
        }
        promise?.succeed(())
        pipeline.syncOperations.fireUserInboundEventTriggered(ChannelEvent.outputClosed)
    }

    // MARK: ChannelCore

    func localAddress0() throws -> SocketAddress {
        guard let address = localAddress else { throw ChannelError.ioOnClosedChannel }
        return address
    }

    func remoteAddress0() throws -> SocketAddress {
        guard let address = remoteAddress else { throw ChannelError.ioOnClosedChannel }
        return address
    }

    func register0(promise: EventLoopPromise<Void>?) {
        promise?.succeed(())
    }

    func registerAlreadyConfigured0(promise: EventLoopPromise<Void>?) {
        promise?.succeed(())
    }

    func bind0(to: SocketAddress, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }

    func connect0(to: SocketAddress, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }

    func write0(_ data: NIOAny, promise: EventLoopPromise<Void>?) {
        // The proxy's handlers and NIOSSL write only ByteBuffers.
        enqueue(unwrapData(data, as: ByteBuffer.self), promise: promise)
    }

    /// Queues `buffer` until the next flush: the pipeline head's write, which the one handler of a pipeline with no
    /// other outbound handler also calls directly (`ProxyConnectionHandler.directOut`) instead of walking the
    /// pipeline for every write.
    func enqueue(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard isOpen else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        guard !outputClosed, outputClose == nil else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        writes.append((buffer, promise))
        pendingBytes += buffer.readableBytes
        if pendingBytes > waterMark.high && isWritable {
            writable.store(false, ordering: .relaxed)
            pipeline.syncOperations.fireChannelWritabilityChanged()
        }
    }

    /// A flush while the loop dispatches a round's readiness is written when the round's events are done
    /// (`DirectEventLoop.deferFlush`), as HAProxy's loop sends after its I/O events: the responses and requests
    /// of one round leave together, so a peer on another core is woken once for them, not once for each.
    func flush0() {
        guard isOpen else { return }
        flushed = writes.count
        guard flushed > 0, interest & EPOLLOUT.rawValue == 0 else { return }
        if loop.isDispatching {
            if !flushDeferred {
                flushDeferred = true
                loop.deferFlush(self)
            }
            return
        }
        writeFlushed()
    }

    /// The write of a flush deferred to the end of the round; nothing if the channel closed or wrote since.
    func writeDeferredFlush() {
        guard flushDeferred else { return }
        flushDeferred = false
        guard isOpen, flushed > 0, interest & EPOLLOUT.rawValue == 0 else { return }
        writeFlushed()
    }

    func read0() {
        guard isOpen, !inputClosed, !readPending else { return }
        readPending = true
        updateInterest()
    }

    func close0(error: any Error, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard isOpen else {
            promise?.fail(ChannelError.alreadyClosed)
            return
        }
        switch mode {
        case .output:
            guard !outputClosed, outputClose == nil else {
                promise?.fail(ChannelError.outputClosed)
                return
            }
            if writes.isEmpty {
                shutDownOutput(promise)
            } else {
                outputClose = .some(promise)
                flush0()
            }
            return
        case .input:
            inputClosed = true
            readPending = false
            _ = Glibc.shutdown(fd, CInt(SHUT_RD))
            updateInterest()
            promise?.succeed(())
            pipeline.syncOperations.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            return
        case .all:
            // A flush deferred to the end of the round is written now, as it would have been without the
            // deferral: closing right after a last write (`Connection: close`) must not lose it.
            if flushDeferred {
                writeDeferredFlush()
                guard isOpen else {
                    promise?.succeed(())  // the write failed and closed the channel
                    return
                }
            }
        }
        isOpen = false
        readGate = nil
        let wasActive = isActive
        active.store(false, ordering: .relaxed)
        if registered {
            loop.deregister(fd, token: token)
            registered = false
        }
        _ = Glibc.close(fd)
        fd = -1
        if let (connectPromise, timeout) = connecting {
            connecting = nil
            timeout?.cancel()
            connectPromise.fail(error)
        }
        let failed = writes
        writes.removeAll()
        flushed = 0
        pendingBytes = 0
        for entry in failed { entry.promise?.fail(ChannelError.ioOnClosedChannel) }
        if case .some(let outputPromise) = outputClose {
            outputClose = nil
            outputPromise?.fail(ChannelError.ioOnClosedChannel)
        }
        promise?.succeed(())
        if wasActive { pipeline.syncOperations.fireChannelInactive() }
        pipeline.syncOperations.fireChannelUnregistered()
        loop.execute { [self] in
            // Later, as NIO does: the code that closed may still be walking the pipeline.
            self.removeHandlers(pipeline: self.pipeline)
            self.closePromise.succeed(())
        }
    }

    func triggerUserOutboundEvent0(_ event: Any, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }

    func channelRead0(_ data: NIOAny) {}

    func errorCaught0(error: any Error) {}

    // MARK: Options

    func setOption<Option: ChannelOption>(_ option: Option, value: Option.Value) -> EventLoopFuture<Void> {
        if loop.inEventLoop {
            return loop.makeCompletedFuture { try self.setOption0(option, value: value) }
        }
        return loop.submit { try self.setOption0(option, value: value) }
    }

    func getOption<Option: ChannelOption>(_ option: Option) -> EventLoopFuture<Option.Value> {
        if loop.inEventLoop {
            return loop.makeCompletedFuture { try self.getOption0(option) }
        }
        return loop.submit { try self.getOption0(option) }
    }

    var syncOptions: (any NIOSynchronousChannelOptions)? { SynchronousOptions(channel: self) }

    private struct SynchronousOptions: NIOSynchronousChannelOptions {
        let channel: DirectSocketChannel

        func setOption<Option: ChannelOption>(_ option: Option, value: Option.Value) throws {
            channel.loop.preconditionInEventLoop()
            try channel.setOption0(option, value: value)
        }

        func getOption<Option: ChannelOption>(_ option: Option) throws -> Option.Value {
            channel.loop.preconditionInEventLoop()
            return try channel.getOption0(option)
        }
    }

    fileprivate func setOption0<Option: ChannelOption>(_ option: Option, value: Option.Value) throws {
        switch option {
        case is ChannelOptions.Types.AutoReadOption:
            guard let on = value as? Bool else { throw ChannelError.operationUnsupported }
            autoRead = on
            if on { readIfNeeded() } else { readPending = false; updateInterest() }
        case is ChannelOptions.Types.AllowRemoteHalfClosureOption:
            guard let on = value as? Bool else { throw ChannelError.operationUnsupported }
            allowRemoteHalfClosure = on
        case is ChannelOptions.Types.WriteBufferWaterMarkOption:
            guard let mark = value as? ChannelOptions.Types.WriteBufferWaterMark else {
                throw ChannelError.operationUnsupported
            }
            waterMark = mark
        case let socketOption as ChannelOptions.Types.SocketOption:
            guard isOpen else { throw ChannelError.ioOnClosedChannel }
            guard var number = value as? SocketOptionValue else { throw ChannelError.operationUnsupported }
            guard setsockopt(fd, socketOption.optionLevel.rawValue, socketOption.optionName.rawValue, &number,
                             socklen_t(MemoryLayout<SocketOptionValue>.size)) == 0 else {
                throw IOError(errnoCode: errno, reason: "setsockopt")
            }
        case is ChannelOptions.Types.MaxMessagesPerReadOption, is ChannelOptions.Types.RecvAllocatorOption,
             is ChannelOptions.Types.ConnectTimeoutOption:
            break  // reads go into the loop's buffer; connects take their timeout as an argument
        default:
            throw ChannelError.operationUnsupported
        }
    }

    fileprivate func getOption0<Option: ChannelOption>(_ option: Option) throws -> Option.Value {
        let value: Any
        switch option {
        case is ChannelOptions.Types.AutoReadOption:
            value = autoRead
        case is ChannelOptions.Types.AllowRemoteHalfClosureOption:
            value = allowRemoteHalfClosure
        case is ChannelOptions.Types.WriteBufferWaterMarkOption:
            value = waterMark
        case let socketOption as ChannelOptions.Types.SocketOption:
            guard isOpen else { throw ChannelError.ioOnClosedChannel }
            var number: SocketOptionValue = 0
            var size = socklen_t(MemoryLayout<SocketOptionValue>.size)
            guard getsockopt(fd, socketOption.optionLevel.rawValue, socketOption.optionName.rawValue, &number,
                             &size) == 0 else {
                throw IOError(errnoCode: errno, reason: "getsockopt")
            }
            value = number
        default:
            throw ChannelError.operationUnsupported
        }
        guard let typed = value as? Option.Value else { throw ChannelError.operationUnsupported }
        return typed
    }
}
