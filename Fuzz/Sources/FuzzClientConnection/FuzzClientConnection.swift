import DNSWire
import Balancer
import FuzzDriver
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import Proxy

/// The whole client connection handler (`ProxyConnectionHandler`), fed client bytes and relaying to scripted
/// upstreams, with no socket: the client is an `EmbeddedChannel` set up as the listener sets it up, and every
/// upstream connection is an `UpstreamConnection` on another `EmbeddedChannel` on the same `EmbeddedEventLoop`
/// (as in ConnectionRelayEmbeddedTests).
///
/// Input: 4 control bytes, the client's byte stream, the marker `00 3d 00` ("\0=\0"), then the upstream script.
///
///     byte 0   client read size (0: the whole stream in one read)
///     byte 1   upstream read size (0: each piece of the script in one read)
///     byte 2   bits 0-1 route, bit 2 route by the request target's last byte, bits 3-4 retries (0-3),
///              bit 5 two upstream addresses (else one), bit 6 upstream connections serve one request,
///              bit 7 the upstream moves first
///     byte 3   bits 0-3 head / body / idle / upstream read timeout of zero (else 60 s: never, here),
///              bit 4 small head limits, bit 5 small default body limit, bit 6 the client closes after its
///              stream, bit 7 the node drains after the client's first read
///
/// Routes: 0 relays; 1 relays with an 8-byte body limit; 2 is no route (404); 3 is refused (403).
///
/// The upstream script is response bytes, cut into reads, written to the upstream connection bound to the
/// exchange; `00` followed by a byte is a command instead: `00 00` a zero byte, `c` the upstream closes, `e` an
/// error on the upstream channel, `i` the next piece goes to an idle pooled connection, `t` 5 ms pass (timers
/// fire), `x` the client closes, `d` the node drains; any other byte only ends a read (a turn passes). Client reads
/// and upstream turns alternate, at most 256 of them; a client read waits while the handler pauses reading, and
/// response bytes wait while no connection is bound and the client still has bytes to send. At the end 3 x 5 ms
/// pass. The handler's timeouts compare the real clock, so only a zero timeout fires here (on the timer's next
/// tick).
///
/// Connections never open a socket: the selector puts a new idle connection into the pool whenever it picks an
/// address whose pool has none (so `attempt()` always binds synchronously), and returns nil for an address the
/// request already tried, so a retry never reaches `ClientBootstrap` (which cannot run on an
/// `EmbeddedEventLoop`). For the same reason no connection limit is set (a queued request's slot grant connects).
///
/// Checked after every step: the handler never logs "event not allowed in its stage" (the log handler crashes);
/// a closed client channel has a closed state and is gone from the loop's client table; an idle exchange holds
/// no upstream connection; what the client receives starts with "HTTP/1." wherever a response must start; nothing
/// arrives after the client channel closed. At the end, after the client closed: no upstream connection is still
/// owned, every open one is idle in its pool, and once all are closed the pools count none. Not reached: the
/// `queued` and `connecting` stages (both end in a real connect).
@main
enum FuzzClientConnection {
    static func main() {
        runFuzzer { data, size in
            examine(fuzzBytes(data, size))
            return 0
        }
    }
}

// MARK: The log watch

/// Crashes on the handler's "event not allowed in its stage": the state machine met an event nobody wrote down.
struct CrashOnIllegalEvent: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .error

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.level >= .error else { return }
        let message = "\(event.message)"
        if message.contains("not allowed") {
            fatalError("FuzzClientConnection: \(message) \(event.metadata ?? [:])")
        }
    }
}

/// `FUZZ_TRACE=1` prints every step: what happened, the stage after it, and what the client received (to read a
/// crash's input: `FUZZ_TRACE=1 .build-fuzz/release/FuzzClientConnection CRASH-FILE`).
let trace = getenv("FUZZ_TRACE") != nil

let fuzzLogger = Logger(label: "fuzz.client-connection", factory: { _ in CrashOnIllegalEvent() })

// MARK: The input

let marker: [UInt8] = [0, UInt8(ascii: "="), 0]

enum UpstreamStep {
    case bytes(ByteBuffer)
    case command(UInt8)
}

struct Script {
    var clientRead = 0
    var upstreamRead = 0
    var route = 0
    var routeByTarget = false
    var retries = 0
    var twoAddresses = false
    var oneRequestPerConnection = false
    var upstreamFirst = false
    var zeroHeadTimeout = false
    var zeroBodyTimeout = false
    var zeroIdleTimeout = false
    var zeroReadTimeout = false
    var smallHeadLimits = false
    var smallBodyLimit = false
    var clientClosesAtEnd = false
    var drainAfterFirstRead = false
    var client: ArraySlice<UInt8> = []
    var upstream: [UpstreamStep] = []

    init?(_ input: [UInt8]) {
        guard input.count >= 4 else { return nil }
        clientRead = Int(input[0])
        upstreamRead = Int(input[1])
        let b2 = input[2]
        route = Int(b2 & 3)
        routeByTarget = b2 & 4 != 0
        retries = Int((b2 >> 3) & 3)
        twoAddresses = b2 & 0x20 != 0
        oneRequestPerConnection = b2 & 0x40 != 0
        upstreamFirst = b2 & 0x80 != 0
        let b3 = input[3]
        zeroHeadTimeout = b3 & 1 != 0
        zeroBodyTimeout = b3 & 2 != 0
        zeroIdleTimeout = b3 & 4 != 0
        zeroReadTimeout = b3 & 8 != 0
        smallHeadLimits = b3 & 0x10 != 0
        smallBodyLimit = b3 & 0x20 != 0
        clientClosesAtEnd = b3 & 0x40 != 0
        drainAfterFirstRead = b3 & 0x80 != 0

        let rest = input[4...]
        var split = rest.endIndex
        var i = rest.startIndex
        while i + marker.count <= rest.endIndex {
            if rest[i] == marker[0] && rest[i + 1] == marker[1] && rest[i + 2] == marker[2] {
                split = i
                break
            }
            i += 1
        }
        client = rest[rest.startIndex..<split]
        let script = split < rest.endIndex ? rest[(split + marker.count)...] : []

        // The upstream script: runs of bytes (cut into reads) between commands.
        var run: [UInt8] = []
        func flushRun() {
            guard !run.isEmpty else { return }
            let cut = upstreamRead == 0 ? run.count : upstreamRead
            var start = 0
            while start < run.count {
                let end = min(start + cut, run.count)
                upstream.append(.bytes(ByteBuffer(bytes: run[start..<end])))
                start = end
            }
            run.removeAll()
        }
        var j = script.startIndex
        while j < script.endIndex {
            let byte = script[j]
            j += 1
            if byte != 0 {
                run.append(byte)
                continue
            }
            guard j < script.endIndex else { break }
            let command = script[j]
            j += 1
            if command == 0 {
                run.append(0)
            } else {
                flushRun()
                upstream.append(.command(command))
            }
        }
        flushRun()
    }
}

// MARK: The rig

let upstreamAddresses = [Address("10.9.8.7:8080")!, Address("10.9.8.8:8080")!]
let upstreamSocketAddresses = [
    try! SocketAddress(ipAddress: "10.9.8.7", port: 8080), try! SocketAddress(ipAddress: "10.9.8.8", port: 8080),
]
let clientSocketAddress = try! SocketAddress(ipAddress: "127.0.0.1", port: 40000)

/// Upstream connections one input may create; past it the selector has nothing to offer (a 503).
let maxUpstreams = 48
/// Client reads, upstream turns and time steps one input may take.
let maxSteps = 256

/// Picks the first address of its list the request has not tried, with an idle connection waiting in its pool.
final class FuzzSelector: AddressSelector, @unchecked Sendable {
    let addresses: [Address]
    weak var rig: Rig?

    init(addresses: [Address]) {
        self.addresses = addresses
    }

    func select(_ request: SelectionContext, loopIndex: Int) -> UpstreamPick? {
        guard let rig, let address = addresses.first(where: { !request.tried.contains($0) }) else { return nil }
        guard rig.ensureIdle(address) else { return nil }
        return UpstreamPick(address)
    }

    func report(_ pick: UpstreamPick, outcome: UpstreamOutcome) {}
}

struct FuzzRouter: ProxyRouter {
    let relay: ProxyService
    let fixed: Int?

    func route(method: HTTPMethod, host: Substring?, uri: Substring, headers: RequestHeaders, https: Bool, clientIP: IPAddress?) -> ProxyRoute? {
        let index = fixed ?? Int((uri.utf8.last ?? 0) & 3)
        switch index {
        case 0:
            return ProxyRoute(name: "relay", upstreamTarget: uri, hostHeader: host, service: relay)
        case 1:
            return ProxyRoute(name: "small-body", upstreamTarget: uri, hostHeader: host, maxBodyBytes: 8, service: relay)
        case 2:
            return nil
        default:
            return ProxyRoute(name: "refused", upstreamTarget: uri, hostHeader: host, service: relay,
                              refusal: .init(status: 403, message: "refused", headers: [("X-Refused", "1")]))
        }
    }
}

final class Rig {
    let client: EmbeddedChannel
    let loop: LoopContext
    let handler: ProxyConnectionHandler
    let selector: FuzzSelector
    var upstreams: [(connection: UpstreamConnection, channel: EmbeddedChannel, address: Int)] = []

    init(_ script: Script) {
        var limits = ProxyLimits(
            maxBodyBytes: script.smallBodyLimit ? 16 : .max,
            headerReadTimeout: script.zeroHeadTimeout ? .nanoseconds(0) : .seconds(60),
            bodyReadTimeout: script.zeroBodyTimeout ? .nanoseconds(0) : .seconds(60),
            clientIdleTimeout: script.zeroIdleTimeout ? .nanoseconds(0) : .seconds(60))
        if script.smallHeadLimits {
            limits.maxHeaderBytes = 512
            limits.maxHeaderCount = 8
            limits.maxURILength = 128
        }
        selector = FuzzSelector(addresses: Array(upstreamAddresses.prefix(script.twoAddresses ? 2 : 1)))
        let service = ProxyService(
            name: "fuzz", connectTimeout: .milliseconds(3),
            readTimeout: script.zeroReadTimeout ? .nanoseconds(0) : .seconds(60), writeTimeout: .seconds(60),
            retries: script.retries, selector: selector)
        let router = FuzzRouter(relay: service, fixed: script.routeByTarget ? nil : script.route)
        let pool = PoolSettings(maxRequestsPerConnection: script.oneRequestPerConnection ? 1 : 1000)
        client = EmbeddedChannel()
        let shared = ServerShared(configuration: ProxyConfiguration(router: router, limits: limits),
                                  pool: pool, logger: fuzzLogger, workers: 1)
        loop = LoopContext(index: 0, eventLoop: client.embeddedEventLoop, shared: shared)
        // Connected first, as an accepted channel is: the handler reads the client's address when added.
        client.connect(to: clientSocketAddress, promise: nil)
        try! ProxyServer.configureClientPipeline(client, loop: loop, limits: limits)
        handler = try! client.pipeline.syncOperations.handler(type: ProxyConnectionHandler.self)
        selector.rig = self
    }

    /// Makes sure `address`'s pool holds an idle open connection; false when this input made too many.
    func ensureIdle(_ address: Address) -> Bool {
        let index = upstreamAddresses.firstIndex(of: address)!
        if upstreams.contains(where: { $0.address == index && $0.connection.inPool && $0.connection.isOpen }) {
            return true
        }
        guard upstreams.count < maxUpstreams else { return false }
        let connection = UpstreamConnection(address: address)
        let channel = EmbeddedChannel(loop: client.embeddedEventLoop)
        try! channel.pipeline.syncOperations.addHandler(connection)
        channel.connect(to: upstreamSocketAddresses[index], promise: nil)
        let pool = loop.pool(for: address, tls: nil)
        pool.connectionStarted()
        connection.pool = pool
        pool.release(connection, now: .now())
        upstreams.append((connection, channel, index))
        return true
    }

    /// The channel of the connection bound to the exchange in progress.
    var bound: EmbeddedChannel? {
        guard let connection = handler.exchange.upstream else { return nil }
        return upstreams.first(where: { $0.connection === connection })?.channel
    }

    /// The most recently pooled idle connection's channel.
    var idle: EmbeddedChannel? {
        upstreams.last(where: { $0.connection.inPool && $0.connection.isOpen })?.channel
    }

    // MARK: Checks

    /// The client's output so far ended where a response must start next.
    var atResponseStart = true
    var tunnelSeen = false
    var clientClosedSeen = false

    func check(_ step: String) {
        let state = handler.state
        if state.stage == .tunnel { tunnelSeen = true }
        if trace { print("[\(step)] stage \(state.stage), request \(state.requestComplete ? "complete" : "receiving"), client \(client.isActive ? "open" : "closed"), upstream \(handler.exchange.upstream == nil ? "none" : "bound")") }
        while let buffer = try? client.readOutbound(as: ByteBuffer.self) {
            guard buffer.readableBytes > 0 else { continue }
            if trace { print("  client <- \(String(decoding: buffer.readableBytesView, as: UTF8.self).debugDescription)") }
            if clientClosedSeen {
                fatalError("FuzzClientConnection: \(buffer.readableBytes) bytes written to the client after it closed (\(step))")
            }
            if atResponseStart && !tunnelSeen {
                let start = buffer.getBytes(at: buffer.readerIndex, length: min(7, buffer.readableBytes)) ?? []
                if start != Array("HTTP/1.".utf8) {
                    fatalError("FuzzClientConnection: client output does not start a response where one must start (\(step)): \(String(decoding: buffer.readableBytesView.prefix(200), as: UTF8.self).debugDescription)")
                }
            }
            atResponseStart = false
        }
        atResponseStart = state.stage != .responding && state.stage != .tunnel && handler.heldHead == nil
        if !client.isActive {
            clientClosedSeen = true
            if state.isOpen {
                fatalError("FuzzClientConnection: the client channel is closed but the handler's state is open (\(step), stage \(state.stage))")
            }
            if !loop.clients.isEmpty {
                fatalError("FuzzClientConnection: a closed client connection is still in the loop's client table (\(step))")
            }
        }
        if state.stage == .idle && handler.exchange.upstream != nil {
            fatalError("FuzzClientConnection: an idle exchange holds an upstream connection (\(step))")
        }
        // What went upstream is not examined here; drop it so it does not pile up.
        for upstream in upstreams {
            while let sent = try? upstream.channel.readOutbound(as: ByteBuffer.self) {
                if trace { print("  upstream \(upstream.address) <- \(String(decoding: sent.readableBytesView, as: UTF8.self).debugDescription)") }
            }
        }
    }

    func finish() {
        let loop = client.embeddedEventLoop
        if client.isActive { client.close(promise: nil) }
        loop.run()
        check("client closed at the end")
        for upstream in upstreams {
            if upstream.connection.owner != nil {
                fatalError("FuzzClientConnection: an upstream connection is still owned after the client closed")
            }
            if upstream.connection.isOpen && !upstream.connection.inPool {
                fatalError("FuzzClientConnection: an open upstream connection is neither pooled nor closed after the client closed (leaked)")
            }
        }
        for upstream in upstreams where upstream.channel.isActive {
            upstream.channel.close(promise: nil)
        }
        loop.run()
        for address in upstreamAddresses {
            let live = self.loop.pool(for: address, tls: nil).live
            if live != 0 {
                fatalError("FuzzClientConnection: pool \(address) counts \(live) live connections after all closed")
            }
        }
        _ = try? client.finish(acceptAlreadyClosed: true)
        for upstream in upstreams {
            _ = try? upstream.channel.finish(acceptAlreadyClosed: true)
        }
        upstreams.removeAll()
        selector.rig = nil
        // The handler lets go of its context in `handlerRemoved`: a handler still holding one here leaks with it.
        guard handler.context == nil else {
            fatalError("FuzzClientConnection: the closed client's handler still holds its context (a reference cycle)")
        }
    }
}

// MARK: Running one input

struct Broken: Error {}

func examine(_ input: [UInt8]) {
    guard let script = Script(input) else { return }
    let rig = Rig(script)
    let loop = rig.client.embeddedEventLoop
    loop.run()
    rig.check("connected")

    var clientOffset = script.client.startIndex
    var nextStep = 0
    var clientTurn = !script.upstreamFirst
    var reads = 0
    var idleTurns = 0
    var steps = 0
    var nextToIdle = false

    func clientLeft() -> Bool { clientOffset < script.client.endIndex && rig.client.isActive }

    while steps < maxSteps {
        steps += 1
        let upstreamLeft = nextStep < script.upstream.count
        if !clientLeft() && !upstreamLeft { break }
        var progressed = false
        var label = ""
        if (clientTurn || !upstreamLeft) && clientLeft() {
            if !rig.handler.shouldPauseReading {
                let cut = script.clientRead == 0 ? script.client.count : script.clientRead
                let end = min(clientOffset + cut, script.client.endIndex)
                _ = try? rig.client.writeInbound(ByteBuffer(bytes: script.client[clientOffset..<end]))
                clientOffset = end
                reads += 1
                progressed = true
                label = "client read \(reads)"
                if reads == 1 && script.drainAfterFirstRead {
                    rig.loop.draining = true
                    if rig.handler.state.isOpen { rig.handler.closeWhenDone() }
                }
            }
        } else if upstreamLeft {
            label = "upstream step \(nextStep)"
            switch script.upstream[nextStep] {
            case .bytes(let bytes):
                let target = nextToIdle ? rig.idle : rig.bound
                if let target {
                    _ = try? target.writeInbound(bytes)
                    nextStep += 1
                    nextToIdle = false
                    progressed = true
                } else if !clientLeft() {
                    // Nothing will ever be bound to take these bytes: an idle connection gets them, or nobody.
                    if let idle = rig.idle { _ = try? idle.writeInbound(bytes) }
                    nextStep += 1
                    progressed = true
                }
            case .command(let command):
                nextStep += 1
                progressed = true
                switch command {
                case UInt8(ascii: "c"):
                    (rig.bound ?? rig.idle)?.close(promise: nil)
                case UInt8(ascii: "e"):
                    (rig.bound ?? rig.idle)?.pipeline.fireErrorCaught(Broken())
                case UInt8(ascii: "i"):
                    nextToIdle = true
                case UInt8(ascii: "t"):
                    loop.advanceTime(by: .milliseconds(5))
                case UInt8(ascii: "x"):
                    if rig.client.isActive { rig.client.close(promise: nil) }
                case UInt8(ascii: "d"):
                    rig.loop.draining = true
                    if rig.handler.state.isOpen { rig.handler.closeWhenDone() }
                default:
                    break
                }
            }
        }
        clientTurn.toggle()
        loop.run()
        rig.check(label)
        if progressed {
            idleTurns = 0
        } else {
            idleTurns += 1
            if idleTurns >= 2 { break }
        }
    }

    if script.clientClosesAtEnd && rig.client.isActive {
        rig.client.close(promise: nil)
        loop.run()
        rig.check("client closed after its stream")
    }
    // Timers: a zero timeout fires on the next tick (they compare real time, so longer ones never fire here).
    for tick in 0..<3 {
        loop.advanceTime(by: .milliseconds(5))
        rig.check("timer tick \(tick)")
    }
    rig.finish()
}
