// epoll-relay: the floor of a proxied request's user CPU in Swift. One thread, one level-triggered
// epoll loop, one backend connection per client connection (round-robin over the backend ports),
// bytes relayed both ways with one read and one write per direction. With --parse it also frames
// HTTP/1.1 messages in both directions (HTTPFramer). See README.md.
import CLinuxShim
import Glibc

// epoll event bits (glibc's EPOLL_EVENTS values).
let evIn: UInt32 = 0x001
let evOut: UInt32 = 0x004
let evErr: UInt32 = 0x008
let evHup: UInt32 = 0x010

let maxConns = 4096
let bufferSize = 16384
let listenToken = UInt64.max
let signalToken = UInt64.max - 1

/// One direction of a pair: bytes read from one socket, written to the other. `start..<end` is
/// what is read but not yet written (non-empty only after a partial write).
struct Direction {
    let buffer: UnsafeMutableRawPointer
    var start = 0
    var end = 0
    var framer: HTTPFramer
    var pending: Bool { start < end }
}

/// A client connection and its backend connection. Side 0 is the client, side 1 the backend.
struct Pair {
    var client: Int32 = -1
    var backend: Int32 = -1
    var generation: UInt32 = 0
    var inUse = false
    var connecting = false
    var clientEvents: UInt32 = 0
    var backendEvents: UInt32 = 0
}

/// Writes a line to standard error (fd 2; Swift 6 refuses the shared `stderr` FILE pointer).
func say(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
}

func fail(_ message: String) -> Never {
    let code = errno
    say("epoll-relay: \(message) (errno \(code): \(String(cString: strerror(code))))")
    exit(1)
}

func usage() -> Never {
    say("usage: epoll-relay [--parse] PORT BACKEND_PORT [BACKEND_PORT...]")
    exit(2)
}

func loopback(_ port: UInt16) -> sockaddr_in {
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return a
}

func setNoDelay(_ fd: Int32) {
    var one: Int32 = 1
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
}

final class Relay {
    let epfd: Int32
    let listenFD: Int32
    let signalFD: Int32
    let backends: [sockaddr_in]
    let parse: Bool
    var nextBackend = 0
    let pairs: UnsafeMutablePointer<Pair>
    /// Pair i's directions: dirs[2i] client -> backend ("up"), dirs[2i + 1] backend -> client ("down").
    /// The side s socket of a pair feeds dirs[2i + s] and drains dirs[2i + 1 - s].
    let dirs: UnsafeMutablePointer<Direction>
    var free: [Int] = []
    var running = true
    var accepted = 0
    var relayedReads = 0

    init(port: UInt16, backendPorts: [UInt16], parse: Bool) {
        self.parse = parse
        backends = backendPorts.map(loopback)
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        if epfd < 0 { fail("epoll_create1") }

        // SIGTERM and SIGINT arrive through a signalfd watched by the loop.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGTERM)
        sigaddset(&mask, SIGINT)
        if sigprocmask(SIG_BLOCK, &mask, nil) != 0 { fail("sigprocmask") }
        signalFD = signalfd(-1, &mask, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        if signalFD < 0 { fail("signalfd") }

        let lfd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if lfd < 0 { fail("socket") }
        var one: Int32 = 1
        _ = setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = loopback(port)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(lfd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound != 0 { fail("bind 127.0.0.1:\(port)") }
        if listen(lfd, 4096) != 0 { fail("listen") }
        listenFD = lfd

        pairs = UnsafeMutablePointer<Pair>.allocate(capacity: maxConns)
        pairs.initialize(repeating: Pair(), count: maxConns)
        dirs = UnsafeMutablePointer<Direction>.allocate(capacity: 2 * maxConns)
        for k in 0..<(2 * maxConns) {
            (dirs + k).initialize(to: Direction(
                buffer: .allocate(byteCount: bufferSize, alignment: 64), framer: HTTPFramer(isResponse: k & 1 == 1)))
        }
        free = Array((0..<maxConns).reversed())

        add(listenFD, evIn, listenToken)
        add(signalFD, evIn, signalToken)
    }

    func add(_ fd: Int32, _ events: UInt32, _ token: UInt64) {
        var ev = epoll_event()
        ev.events = events
        ev.data.u64 = token
        if epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0 { fail("epoll_ctl ADD") }
    }

    func token(_ i: Int, _ side: Int) -> UInt64 {
        UInt64(pairs[i].generation) << 32 | UInt64(i) << 1 | UInt64(side)
    }

    /// Interest of each socket: read while the direction it feeds has nothing pending, write while
    /// the direction it drains has something pending. One epoll_ctl per change, none otherwise.
    func update(_ i: Int) {
        let p = pairs + i
        if p.pointee.connecting { return }
        let up = dirs[2 * i].pending
        let down = dirs[2 * i + 1].pending
        let c = (up ? 0 : evIn) | (down ? evOut : 0)
        let b = (down ? 0 : evIn) | (up ? evOut : 0)
        if c != p.pointee.clientEvents {
            p.pointee.clientEvents = c
            modify(p.pointee.client, c, token(i, 0))
        }
        if b != p.pointee.backendEvents {
            p.pointee.backendEvents = b
            modify(p.pointee.backend, b, token(i, 1))
        }
    }

    func modify(_ fd: Int32, _ events: UInt32, _ token: UInt64) {
        var ev = epoll_event()
        ev.events = events
        ev.data.u64 = token
        _ = epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev)
    }

    func close(_ i: Int) {
        let p = pairs + i
        guard p.pointee.inUse else { return }
        _ = Glibc.close(p.pointee.client)
        _ = Glibc.close(p.pointee.backend)
        p.pointee.client = -1
        p.pointee.backend = -1
        p.pointee.inUse = false
        p.pointee.generation &+= 1
        for k in (2 * i)...(2 * i + 1) {
            dirs[k].start = 0
            dirs[k].end = 0
            dirs[k].framer.reset()
        }
        free.append(i)
    }

    func acceptAll() {
        while true {
            let fd = accept4(listenFD, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if fd < 0 { return }  // EAGAIN, or an error the next readiness will show again
            guard let i = free.popLast() else {
                _ = Glibc.close(fd)
                continue
            }
            accepted += 1
            setNoDelay(fd)
            let bfd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if bfd < 0 {
                _ = Glibc.close(fd)
                free.append(i)
                continue
            }
            setNoDelay(bfd)
            var addr = backends[nextBackend]
            nextBackend = (nextBackend + 1) % backends.count
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(bfd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if rc != 0 && errno != EINPROGRESS {
                _ = Glibc.close(fd)
                _ = Glibc.close(bfd)
                free.append(i)
                continue
            }
            let p = pairs + i
            p.pointee.client = fd
            p.pointee.backend = bfd
            p.pointee.inUse = true
            p.pointee.connecting = rc != 0
            // Until the backend is connected the client is not read (interest 0: only errors).
            p.pointee.clientEvents = p.pointee.connecting ? 0 : evIn
            p.pointee.backendEvents = p.pointee.connecting ? evOut : evIn
            add(fd, p.pointee.clientEvents, token(i, 0))
            add(bfd, p.pointee.backendEvents, token(i, 1))
        }
    }

    /// Writes the pending bytes of a direction; false if the pair must close.
    func flush(_ d: UnsafeMutablePointer<Direction>, to fd: Int32) -> Bool {
        while d.pointee.pending {
            let w = write(fd, d.pointee.buffer + d.pointee.start, d.pointee.end - d.pointee.start)
            if w > 0 {
                d.pointee.start += w
            } else if w < 0 && (errno == EAGAIN || errno == EINTR) {
                return true
            } else {
                return false
            }
        }
        d.pointee.start = 0
        d.pointee.end = 0
        return true
    }

    /// Reads once from `from` into the direction and writes once to `to`; false if the pair must close.
    func relay(_ d: UnsafeMutablePointer<Direction>, from: Int32, to: Int32) -> Bool {
        let n = read(from, d.pointee.buffer, bufferSize)
        if n < 0 { return errno == EAGAIN || errno == EINTR }
        if n == 0 { return false }  // end of stream: no half-close in this prototype
        relayedReads += 1
        if parse && !d.pointee.framer.consume(d.pointee.buffer, n) { return false }
        let w = write(to, d.pointee.buffer, n)
        if w == n { return true }
        if w < 0 && errno != EAGAIN && errno != EINTR { return false }
        // Partial write: keep the rest; update() stops reading `from` and waits for `to` to drain.
        d.pointee.start = max(w, 0)
        d.pointee.end = n
        return true
    }

    func handle(_ i: Int, side: Int, events: UInt32) {
        let p = pairs + i
        if p.pointee.connecting {
            guard side == 1 else {
                if events & (evErr | evHup) != 0 { close(i) }
                return
            }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(p.pointee.backend, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0 {
                close(i)
                return
            }
            p.pointee.connecting = false
            update(i)
            return
        }
        let me = side == 0 ? p.pointee.client : p.pointee.backend
        let other = side == 0 ? p.pointee.backend : p.pointee.client
        // The direction this socket drains (writes to it) and the one it feeds (reads from it).
        let feeds = dirs + (2 * i + side)
        let drains = dirs + (2 * i + 1 - side)
        var ok = true
        if events & evOut != 0 {
            ok = flush(drains, to: me)
        }
        if ok && events & (evIn | evHup | evErr) != 0 && !feeds.pointee.pending {
            ok = relay(feeds, from: me, to: other)
        }
        if ok && events & (evIn | evOut) == 0 && events & (evErr | evHup) != 0 {
            ok = false
        }
        if ok { update(i) } else { close(i) }
    }

    func run() {
        let maxEvents = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: maxEvents)
        defer { events.deallocate() }
        while running {
            let n = epoll_wait(epfd, events, Int32(maxEvents), -1)
            if n < 0 {
                if errno == EINTR { continue }
                fail("epoll_wait")
            }
            for k in 0..<Int(n) {
                let ev = events[k]
                let token = ev.data.u64
                if token == listenToken {
                    acceptAll()
                } else if token == signalToken {
                    running = false
                } else {
                    let i = Int((token >> 1) & 0x7FFF_FFFF)
                    let side = Int(token & 1)
                    // Skip events of a pair closed (and perhaps reused) earlier in this batch.
                    guard i < maxConns, pairs[i].inUse, UInt64(pairs[i].generation) == token >> 32 else { continue }
                    handle(i, side: side, events: ev.events)
                }
            }
        }
        for i in 0..<maxConns where pairs[i].inUse { close(i) }
        _ = Glibc.close(listenFD)
        var heads = 0
        for k in 0..<(2 * maxConns) { heads += dirs[k].framer.heads }
        say("epoll-relay: stopped; \(accepted) connections, \(relayedReads) reads relayed, \(heads) heads framed")
    }
}

// --- command line ---------------------------------------------------------------------------

var args = Array(CommandLine.arguments.dropFirst())
var parse = false
if let k = args.firstIndex(of: "--parse") {
    parse = true
    args.remove(at: k)
}
guard args.count >= 2 else { usage() }
var ports: [UInt16] = []
for a in args {
    guard let p = UInt16(a), p > 0 else { usage() }
    ports.append(p)
}
signal(SIGPIPE, SIG_IGN)
let relay = Relay(port: ports[0], backendPorts: Array(ports.dropFirst()), parse: parse)
say("epoll-relay: listening on 127.0.0.1:\(ports[0]), \(ports.count - 1) backends, \(parse ? "--parse" : "raw")")
relay.run()
