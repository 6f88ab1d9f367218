import CAres
import Foundation
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Owns one c-ares channel on one dedicated thread that waits in `poll(2)`.
///
/// c-ares 1.18 has no locking, so every call that touches the channel happens on that thread. Other threads
/// hand work over through `submit`, which appends to an inbox under a lock and wakes the thread through an
/// eventfd. The loop learns which sockets to watch from c-ares' socket-state callback and takes its poll
/// deadline from `ares_timeout`, so an idle loop makes no wake-ups at all.
///
/// `@unchecked Sendable` invariant: `channel` and `watched` are read and written only on the loop thread
/// (inside `run()` and the jobs it runs); `inbox` and `stopping` only under `lock`; `wakeFD` is written
/// once in `init` and only read after; `thread` is written in `start()` and read in `shutdown()`, both under
/// `lock`. Nothing else is mutable.
final class AresEventLoop: @unchecked Sendable {
    /// Work for the loop thread. It receives the channel, or nil when the loop has shut down (the job must
    /// then fail its request).
    typealias Job = @Sendable (ares_channel?) -> Void

    private let lock = NIOLock()
    private var inbox: [Job] = []
    private var stopping = false
    private var stopped = false
    private var thread: pthread_t?
    private let wakeFD: Int32
    private var channel: ares_channel?
    private var watched: [Int32: (read: Bool, write: Bool)] = [:]
    private let logger: Logger

    init(configuration: ResolverConfiguration, logger: Logger) throws(DiscoveryError) {
        self.logger = logger
        let fd = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard fd >= 0 else { throw DiscoveryError(.configuration, "cannot create eventfd: errno \(errno)") }
        wakeFD = fd
        let rc = ares_library_init(ARES_LIB_INIT_ALL)
        guard rc == ARES_SUCCESS else {
            close(fd)
            throw DiscoveryError(.configuration, "c-ares initialisation failed: \(AresEventLoop.describe(rc))")
        }
        do {
            try setUpChannel(configuration)
        } catch {
            close(fd)
            ares_library_cleanup()
            throw error
        }
    }

    private func setUpChannel(_ configuration: ResolverConfiguration) throws(DiscoveryError) {
        var options = ares_options()
        var mask: Int32 = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB
        // NOCHECKRESP: report SERVFAIL and REFUSED as themselves instead of "could not contact servers".
        // NOALIASES: ignore the HOSTALIASES environment variable; names mean what the operator wrote.
        options.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOALIASES
        if configuration.tcpOnly { options.flags |= ARES_FLAG_USEVC }
        if configuration.ednsPayloadSize > 0 {
            options.flags |= ARES_FLAG_EDNS
            options.ednspsz = Int32(clamping: configuration.ednsPayloadSize)
            mask |= ARES_OPT_EDNSPSZ
        }
        let ms = configuration.timeout.components.seconds * 1000
            + configuration.timeout.components.attoseconds / 1_000_000_000_000_000
        options.timeout = Int32(clamping: max(ms, 1))
        options.tries = Int32(clamping: max(configuration.tries, 1))
        options.sock_state_cb = socketStateCallback
        options.sock_state_cb_data = Unmanaged.passUnretained(self).toOpaque()
        if let ndots = configuration.ndots {
            options.ndots = Int32(clamping: ndots)
            mask |= ARES_OPT_NDOTS
        }
        mask |= ARES_OPT_RESOLVCONF
        var domainStorage: [UnsafeMutablePointer<CChar>?] = (configuration.searchDomains ?? []).map { strdup($0) }
        defer { domainStorage.forEach { free($0) } }
        let rc: Int32 = configuration.resolvConfPath.withCString { path in
            options.resolvconf_path = UnsafeMutablePointer(mutating: path)
            if configuration.searchDomains != nil {
                mask |= ARES_OPT_DOMAINS
                options.ndomains = Int32(domainStorage.count)
                return domainStorage.withUnsafeMutableBufferPointer { buffer in
                    options.domains = buffer.baseAddress
                    return ares_init_options(&channel, &options, mask)
                }
            }
            return ares_init_options(&channel, &options, mask)
        }
        guard rc == ARES_SUCCESS, channel != nil else {
            throw DiscoveryError(.configuration, "c-ares channel setup failed: \(AresEventLoop.describe(rc))")
        }
        if !configuration.servers.isEmpty {
            let csv = configuration.servers.map(\.description).joined(separator: ",")
            let rc = ares_set_servers_ports_csv(channel, csv)
            guard rc == ARES_SUCCESS else {
                ares_destroy(channel)
                channel = nil
                throw DiscoveryError(.configuration, "invalid DNS servers \(csv): \(AresEventLoop.describe(rc))")
            }
        }
    }

    /// Starts the loop thread. Called once.
    func start() throws(DiscoveryError) {
        let rc: Int32 = lock.withLock {
            precondition(thread == nil, "AresEventLoop.start() called twice")
            var tid = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let rc = pthread_create(&tid, nil, aresLoopThreadMain, context)
            if rc == 0 {
                thread = tid
            } else {
                Unmanaged<AresEventLoop>.fromOpaque(context).release()
            }
            return rc
        }
        guard rc == 0 else { throw DiscoveryError(.configuration, "cannot start the resolver thread: errno \(rc)") }
    }

    /// Runs `job` on the loop thread. After shutdown the job runs at once with a nil channel.
    func submit(_ job: @escaping Job) {
        let accepted = lock.withLock { () -> Bool in
            guard !stopping else { return false }
            inbox.append(job)
            return true
        }
        if accepted { wake() } else { job(nil) }
    }

    /// Stops the loop: pending queries fail with `shutdown`, queued jobs run with a nil channel, and the
    /// thread is joined. Idempotent.
    func shutdown() {
        let tid: pthread_t? = lock.withLock {
            if stopping { return nil }
            stopping = true
            defer { thread = nil }
            return thread
        }
        wake()
        if let tid { pthread_join(tid, nil) }
        let leftovers: [Job] = lock.withLock {
            defer { inbox = [] }
            return inbox
        }
        for job in leftovers { job(nil) }
    }

    deinit {
        if let channel { ares_destroy(channel) }
        close(wakeFD)
        ares_library_cleanup()
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    fileprivate func socketStateChanged(fd: Int32, readable: Bool, writable: Bool) {
        if readable || writable {
            watched[fd] = (readable, writable)
        } else {
            watched[fd] = nil
        }
    }

    fileprivate func run() {
        var fds: [pollfd] = []
        while true {
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0))
            for (fd, interest) in watched {
                var events: Int16 = 0
                if interest.read { events |= Int16(POLLIN) }
                if interest.write { events |= Int16(POLLOUT) }
                fds.append(pollfd(fd: fd, events: events, revents: 0))
            }
            var tv = timeval()
            let timeoutMs: Int32
            if ares_timeout(channel, nil, &tv) != nil {
                // Round up: waking a millisecond early would only spin once more.
                timeoutMs = Int32(clamping: Int(tv.tv_sec) * 1000 + (Int(tv.tv_usec) + 999) / 1000)
            } else {
                timeoutMs = -1
            }
            let ready = poll(&fds, nfds_t(fds.count), timeoutMs)
            if ready < 0 && errno != EINTR {
                logger.error("resolver poll failed", metadata: ["errno": "\(errno)"])
            }
            var processed = false
            if ready > 0 {
                for pfd in fds.dropFirst() where pfd.revents != 0 {
                    let errorBits = Int16(POLLERR | POLLHUP | POLLNVAL)
                    let readFD = pfd.revents & (Int16(POLLIN) | errorBits) != 0 ? pfd.fd : ARES_SOCKET_BAD
                    let writeFD = pfd.revents & (Int16(POLLOUT) | errorBits) != 0 ? pfd.fd : ARES_SOCKET_BAD
                    ares_process_fd(channel, readFD, writeFD)
                    processed = true
                }
            }
            // With no socket event this is what retries timed-out queries and ends them with ETIMEOUT.
            if !processed { ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD) }
            if fds[0].revents != 0 {
                var counter: UInt64 = 0
                _ = read(wakeFD, &counter, 8)
            }
            let (jobs, stop) = lock.withLock { () -> ([Job], Bool) in
                defer { inbox.removeAll(keepingCapacity: true) }
                return (inbox, stopping)
            }
            for job in jobs { job(channel) }
            if stop { break }
        }
        // Pending callbacks fire now with ARES_EDESTRUCTION, failing their requests.
        if let channel { ares_destroy(channel) }
        channel = nil
        watched = [:]
    }

    static func describe(_ status: Int32) -> String {
        guard let text = ares_strerror(status) else { return "c-ares status \(status)" }
        return String(cString: text)
    }
}

// C callbacks live at file scope: a closure literal in an isolated context would inherit that isolation and
// trap when c-ares calls it from the loop thread.

private let socketStateCallback: ares_sock_state_cb = { data, fd, readable, writable in
    guard let data else { return }
    Unmanaged<AresEventLoop>.fromOpaque(data).takeUnretainedValue()
        .socketStateChanged(fd: fd, readable: readable != 0, writable: writable != 0)
}

private func aresLoopThreadMain(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let context else { return nil }
    let loop = Unmanaged<AresEventLoop>.fromOpaque(context).takeRetainedValue()
    loop.run()
    return nil
}
