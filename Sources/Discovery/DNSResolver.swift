import CAres
import DNSWire
import Foundation
import Logging
import NIOConcurrencyHelpers

/// Asynchronous DNS lookups through one c-ares event loop: A, AAAA and SRV with their TTLs (SRV TTLs and
/// glue read from the raw answer, which c-ares 1.18's own SRV parser drops), typed errors, TCP on truncation.
///
/// Thread-safe: every call may come from any task; many queries can be in flight at once.
public final class DNSResolver: Sendable {
    private let loop: AresEventLoop
    private let hosts: HostsCache?
    public let configuration: ResolverConfiguration
    private let counterBox = NIOLockedValueBox(Counters())

    /// How many queries have been sent and how they ended; for the status API and benchmarks.
    public struct Counters: Sendable, Equatable {
        public var queries = 0
        public var answers = 0
        public var negative = 0
        public var failures = 0
    }

    public init(configuration: ResolverConfiguration = .init(), logger: Logger = Logger(label: "switchyard.dns")) throws(DiscoveryError) {
        self.configuration = configuration
        self.loop = try AresEventLoop(configuration: configuration, logger: logger)
        self.hosts = configuration.hostsPath.map { HostsCache(path: $0) }
        try loop.start()
    }

    /// Fails every pending query with `shutdown` and stops the loop thread. Idempotent.
    public func shutdown() {
        loop.shutdown()
    }

    deinit {
        loop.shutdown()
    }

    public var counters: Counters { counterBox.withLockedValue { $0 } }

    /// A description of the servers asked, for messages.
    public var serverDescription: String {
        configuration.servers.isEmpty ? "the servers of \(configuration.resolvConfPath)"
            : configuration.servers.map(\.description).joined(separator: ", ")
    }

    /// Sends one query (search domains and ndots applied as the system resolver does) and returns the
    /// parsed answer. Negative answers (NXDOMAIN, NODATA) throw with their SOA negative TTL.
    public func query(_ name: String, type: RecordType) async throws(DiscoveryError) -> DNSMessage {
        guard DNSResolver.isValidName(name) else {
            throw DiscoveryError(.badName, "\"\(name)\" is not a valid DNS name")
        }
        counterBox.withLockedValue { $0.queries += 1 }
        let pending = PendingQuery()
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                pending.install(continuation)
                loop.submit { channel in
                    guard let channel else {
                        pending.finish(.failure(DiscoveryError(.shutdown, "the resolver is shut down")))
                        return
                    }
                    // The callback takes this +1 back; c-ares calls it exactly once, even on destroy.
                    let context = Unmanaged.passRetained(pending).toOpaque()
                    ares_search(channel, name, 1 /* C_IN */, Int32(type.rawValue), queryCallback, context)
                }
            }
        } onCancel: {
            pending.finish(nil)
        }
        switch pending.takeResult() {
        case .success(let raw)?:
            return try interpret(raw, name: name, type: type)
        case .failure(let error)?:
            counterBox.withLockedValue { $0.failures += 1 }
            throw error
        case nil:
            throw DiscoveryError(.shutdown, "lookup of \(name) was cancelled")
        }
    }

    private func interpret(_ raw: RawAnswer, name: String, type: RecordType) throws(DiscoveryError) -> DNSMessage {
        let what = "\(type) \(name)"
        var message: DNSMessage?
        var parseError: DNSWireError?
        if !raw.bytes.isEmpty {
            do { message = try DNSMessage(parsing: raw.bytes) } catch { parseError = error }
        }
        switch raw.status {
        case ARES_SUCCESS:
            guard let message else {
                counterBox.withLockedValue { $0.failures += 1 }
                let detail = parseError.map { "\($0)" } ?? "empty answer"
                throw DiscoveryError(.malformed, "malformed answer for \(what) from \(serverDescription): \(detail)")
            }
            if message.truncated {
                // c-ares retries a truncated UDP answer over TCP; TC on what comes back means the answer does not
                // fit a DNS message at all (65,535 bytes), so its records are an arbitrary part of the set.
                counterBox.withLockedValue { $0.failures += 1 }
                throw DiscoveryError(.tooBig, "the answer for \(what) from \(serverDescription) is too big even for TCP "
                    + "(truncated at \(raw.bytes.count) bytes with \(message.answers.count) records; a DNS message holds at "
                    + "most 65,535 bytes); keeping the last good answer")
            }
            counterBox.withLockedValue { $0.answers += 1 }
            return message
        case ARES_ENOTFOUND, ARES_ENODATA:
            counterBox.withLockedValue { $0.negative += 1 }
            let nx = raw.status == ARES_ENOTFOUND
            throw DiscoveryError(nx ? .nxdomain : .nodata,
                                 nx ? "\(name) does not exist (NXDOMAIN)" : "\(name) has no \(type) records (NODATA)",
                                 negativeTTL: message?.negativeTTL)
        default:
            counterBox.withLockedValue { $0.failures += 1 }
            throw DNSResolver.error(forStatus: raw.status, what: what, servers: serverDescription, timeouts: raw.timeouts,
                                    configuration: configuration)
        }
    }

    static func error(forStatus status: Int32, what: String, servers: String, timeouts: Int32,
                      configuration: ResolverConfiguration) -> DiscoveryError {
        switch status {
        case ARES_ESERVFAIL:
            return DiscoveryError(.servfail, "DNS server \(servers) answered SERVFAIL for \(what)")
        case ARES_EREFUSED:
            return DiscoveryError(.refused, "DNS server \(servers) refused to answer \(what) (REFUSED)")
        case ARES_EFORMERR, ARES_ENOTIMP:
            return DiscoveryError(.formerr, "DNS server \(servers) rejected the query for \(what) (\(describe(status)))")
        case ARES_ETIMEOUT:
            let ms = configuration.timeout.components.seconds * 1000
                + configuration.timeout.components.attoseconds / 1_000_000_000_000_000
            return DiscoveryError(.timeout, "DNS server \(servers) timed out after \(configuration.tries) tries (first try \(ms) ms) resolving \(what)")
        case ARES_ECONNREFUSED:
            return DiscoveryError(.connectionRefused, "could not contact DNS server \(servers) for \(what) (connection refused or unreachable)")
        case ARES_EBADRESP:
            return DiscoveryError(.malformed, "malformed answer for \(what) from \(servers)")
        case ARES_EBADNAME:
            return DiscoveryError(.badName, "invalid name in query \(what)")
        case ARES_EDESTRUCTION, ARES_ECANCELLED:
            return DiscoveryError(.shutdown, "the resolver was shut down while resolving \(what)")
        default:
            return DiscoveryError(.other, "lookup of \(what) failed: \(describe(status))")
        }
    }

    static func describe(_ status: Int32) -> String { AresEventLoop.describe(status) }

    /// Names c-ares would accept and that are plausible DNS names: 1-253 characters, labels 1-63.
    static func isValidName(_ name: String) -> Bool {
        var n = Substring(name)
        if n.hasSuffix(".") { n.removeLast() }
        guard !n.isEmpty, n.utf8.count <= 253 else { return false }
        return n.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }
        }
    }

    /// Hosts-file addresses for `name`, when the hosts file holds it.
    func hostsAddresses(_ name: String, v6: Bool) -> [IPAddress]? {
        hosts?.addresses(of: name, v6: v6)
    }
}

private let queryCallback: ares_callback = { arg, status, timeouts, abuf, alen in
    guard let arg else { return }
    let pending = Unmanaged<PendingQuery>.fromOpaque(arg).takeRetainedValue()
    // Copy: abuf is only valid during the callback.
    let bytes = abuf.map { Array(UnsafeBufferPointer(start: $0, count: Int(max(alen, 0)))) } ?? []
    pending.finish(.success(RawAnswer(status: status, bytes: bytes, timeouts: timeouts)))
}
