import DNSWire

/// Which address families a name expands to.
public struct AddressFamilies: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let ipv4 = AddressFamilies(rawValue: 1)
    public static let ipv6 = AddressFamilies(rawValue: 2)
    public static let all: AddressFamilies = [.ipv4, .ipv6]
}

/// The addresses of one name, with the TTL that bounds how long they may be used.
public struct AddressLookup: Sendable, Equatable {
    /// Sorted, deduplicated.
    public var addresses: [IPAddress]
    /// Minimum TTL over the answers used (and along CNAME chains).
    public var ttl: UInt32
    /// The name that was actually answered (after search domains and CNAMEs).
    public var canonicalName: String
    /// Where the addresses came from.
    public var source: Source

    public enum Source: String, Sendable { case dns, hostsFile = "hosts", literal }
}

/// One SRV entry, with its own TTL and the addresses of its target.
public struct ServiceLookupEntry: Sendable, Equatable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    public var target: String
    public var ttl: UInt32
    /// Sorted addresses of `target`; empty when they could not be resolved (see `addressError`).
    public var addresses: [IPAddress]
    /// TTL of the target's addresses, when known.
    public var addressTTL: UInt32?
    /// True when the addresses came from the answer's additional section.
    public var fromGlue: Bool
    /// Why the target's addresses are missing, if they are.
    public var addressError: DiscoveryError?
}

/// An SRV answer with every entry's target resolved.
public struct ServiceLookup: Sendable, Equatable {
    /// Sorted by (priority, target, port, weight).
    public var entries: [ServiceLookupEntry]
    /// Minimum TTL over the SRV records and the addresses used.
    public var ttl: UInt32
    /// The SRV owner actually answered.
    public var canonicalName: String
}

extension DNSResolver {
    /// Resolves a host name to its A and/or AAAA addresses. An IP literal resolves to itself; names in the
    /// hosts file are answered from it. NXDOMAIN/NODATA for every family asked throws the negative answer;
    /// any failure throws it (so callers keep their last good answer rather than a half-answer).
    public func resolveAddresses(_ name: String, families: AddressFamilies = .all) async throws(DiscoveryError) -> AddressLookup {
        if let ip = IPAddress(name) {
            return AddressLookup(addresses: [ip], ttl: UInt32.max, canonicalName: name, source: .literal)
        }
        var fromHosts: [IPAddress] = []
        if families.contains(.ipv4), let v4 = hostsAddresses(name, v6: false) { fromHosts += v4 }
        if families.contains(.ipv6), let v6 = hostsAddresses(name, v6: true) { fromHosts += v6 }
        if !fromHosts.isEmpty {
            return AddressLookup(addresses: Array(Set(fromHosts)).sorted(), ttl: configuration.hostsTTL,
                                 canonicalName: DNSResolver.normalized(name), source: .hostsFile)
        }
        let outcomes: [Result<AddressLookup, DiscoveryError>]
        switch (families.contains(.ipv4), families.contains(.ipv6)) {
        case (true, true):
            async let v4 = addressOutcome(name, type: .a)
            async let v6 = addressOutcome(name, type: .aaaa)
            outcomes = await [v4, v6]
        case (false, true):
            outcomes = [await addressOutcome(name, type: .aaaa)]
        default:
            outcomes = [await addressOutcome(name, type: .a)]
        }
        return try DNSResolver.merge(outcomes, name: name)
    }

    private func addressOutcome(_ name: String, type: RecordType) async -> Result<AddressLookup, DiscoveryError> {
        do {
            let message = try await query(name, type: type)
            let asked = message.questions.first?.name ?? DNSResolver.normalized(name)
            let answer = message.addressAnswer(for: asked, type: type)
            guard !answer.addresses.isEmpty, let ttl = answer.ttl else {
                return .failure(DiscoveryError(.nodata, "\(name) has no \(type) records (NODATA)",
                                               negativeTTL: message.negativeTTL))
            }
            return .success(AddressLookup(addresses: answer.addresses, ttl: ttl,
                                          canonicalName: answer.canonicalName, source: .dns))
        } catch {
            return .failure(error)
        }
    }

    /// Combines per-family outcomes: any failure wins, then any data, then the negative answer
    /// (NXDOMAIN over NODATA, shortest negative TTL).
    static func merge(_ outcomes: [Result<AddressLookup, DiscoveryError>], name: String) throws(DiscoveryError) -> AddressLookup {
        var found: AddressLookup?
        var negative: DiscoveryError?
        for outcome in outcomes {
            switch outcome {
            case .success(let lookup):
                if var merged = found {
                    merged.addresses = Array(Set(merged.addresses + lookup.addresses)).sorted()
                    merged.ttl = min(merged.ttl, lookup.ttl)
                    found = merged
                } else {
                    found = lookup
                }
            case .failure(let error) where error.isNegativeAnswer:
                if let previous = negative {
                    let code: DiscoveryError.Code = previous.code == .nxdomain || error.code == .nxdomain ? .nxdomain : .nodata
                    let ttl = [previous.negativeTTL, error.negativeTTL].compactMap { $0 }.min()
                    let message = code == .nxdomain ? "\(name) does not exist (NXDOMAIN)" : "\(name) has no address records (NODATA)"
                    negative = DiscoveryError(code, message, negativeTTL: ttl)
                } else {
                    negative = error
                }
            case .failure(let error):
                throw error
            }
        }
        if let found { return found }
        throw negative ?? DiscoveryError(.nodata, "\(name) has no address records (NODATA)")
    }

    /// Resolves an SRV name and the addresses of each target: from the additional section when the server
    /// sent them (one round trip), otherwise with a lookup per target, all in parallel. A target that fails
    /// to resolve keeps its entry with no addresses and the error, so the caller can keep that target's
    /// previous addresses.
    public func resolveService(_ name: String, families: AddressFamilies = .all) async throws(DiscoveryError) -> ServiceLookup {
        let message = try await query(name, type: .srv)
        let owner = message.questions.first?.name ?? DNSResolver.normalized(name)
        let answer = message.serviceAnswer(for: owner)
        if answer.entries.isEmpty {
            if answer.serviceUnavailable {
                throw DiscoveryError(.nodata, "\(name) says the service is not available (SRV target \".\")",
                                     negativeTTL: answer.ttl)
            }
            throw DiscoveryError(.nodata, "\(name) has no SRV records (NODATA)", negativeTTL: message.negativeTTL)
        }
        let targets = Set(answer.entries.map(\.target))
        var resolved: [String: Result<(addresses: [IPAddress], ttl: UInt32?, glue: Bool), DiscoveryError>] = [:]
        var missing: [String] = []
        for target in targets {
            if let glue = answer.glue[target] {
                let usable = glue.addresses.filter { ($0.isIPv6 && families.contains(.ipv6)) || (!$0.isIPv6 && families.contains(.ipv4)) }
                if !usable.isEmpty {
                    resolved[target] = .success((usable.sorted(), glue.ttl, true))
                    continue
                }
            }
            missing.append(target)
        }
        if !missing.isEmpty {
            await withTaskGroup(of: (String, Result<AddressLookup, DiscoveryError>).self) { group in
                for target in missing {
                    group.addTask {
                        // Bind the outcome before building the tuple. Swift 6.3's optimizer leaves the
                        // tuple's first element uninitialised when an async closure with an indirect
                        // (generic) result returns `(value, try await f())` from inside `do`: release builds
                        // then read a stale or garbage String here and crashed on SRV sets of 20+ records.
                        // Reproduction: Tests/Reproductions/AsyncClosureTupleReturn.
                        let outcome: Result<AddressLookup, DiscoveryError>
                        do throws(DiscoveryError) {
                            outcome = .success(try await self.resolveAddresses(target, families: families))
                        } catch {
                            outcome = .failure(error)
                        }
                        return (target, outcome)
                    }
                }
                for await (target, outcome) in group {
                    switch outcome {
                    case .success(let lookup):
                        let ttl: UInt32? = lookup.source == .literal ? nil : lookup.ttl
                        resolved[target] = .success((lookup.addresses, ttl, false))
                    case .failure(let error):
                        resolved[target] = .failure(error)
                    }
                }
            }
        }
        var ttl = answer.ttl ?? 0
        var entries: [ServiceLookupEntry] = []
        for entry in answer.entries {
            var item = ServiceLookupEntry(priority: entry.priority, weight: entry.weight, port: entry.port,
                                          target: entry.target, ttl: entry.ttl, addresses: [], addressTTL: nil,
                                          fromGlue: false, addressError: nil)
            switch resolved[entry.target] {
            case .success(let r)?:
                item.addresses = r.addresses
                item.addressTTL = r.ttl
                item.fromGlue = r.glue
                if let t = r.ttl { ttl = min(ttl, t) }
            case .failure(let error)?:
                item.addressError = error
            case nil:
                break
            }
            ttl = min(ttl, entry.ttl)
            entries.append(item)
        }
        entries.sort { ($0.priority, $0.target, $0.port, $0.weight) < ($1.priority, $1.target, $1.port, $1.weight) }
        return ServiceLookup(entries: entries, ttl: ttl, canonicalName: owner)
    }

    /// Lower-cased, without the trailing dot.
    public static func normalized(_ name: String) -> String {
        var n = name.lowercased()
        if n.hasSuffix(".") { n.removeLast() }
        return n
    }
}
