/// What a resolver needs from a response: addresses or SRV targets with the TTL to cache them for,
/// and the negative-caching TTL. Only records on the path from the asked name are used, so records
/// a server adds for unrelated names cannot poison the result. The asked name is normalized
/// (`DNSName.normalized`), so it matches case-insensitively; record names are compared as stored,
/// which for parsed messages is already normalized.
extension DNSMessage {
    /// Longest CNAME chain followed; longer chains are treated as having no data.
    public static let maxCNAMEChain = 16

    /// Addresses for `name`, following CNAMEs in the ANSWER section. `type` is `.a` or `.aaaa`;
    /// any other type yields no addresses.
    public func addressAnswer(for name: String, type: RecordType) -> AddressAnswer {
        let chain = followCNAMEs(from: DNSName.normalized(name), until: type)
        var addresses: [IPAddress] = []
        var ttl = chain.ttl
        for record in answers where record.name == chain.owner && record.type == type
            && record.rrClass == ResourceRecord.internetClass {
            switch record.data {
            case .a(let address) where type == .a, .aaaa(let address) where type == .aaaa:
                addresses.append(address)
                ttl = min(ttl ?? record.ttl, record.ttl)
            default:
                break
            }
        }
        let sorted = Array(Set(addresses)).sorted()
        return AddressAnswer(addresses: sorted, ttl: sorted.isEmpty ? nil : ttl, canonicalName: chain.owner)
    }

    /// SRV targets for `name` (e.g. "_http._tcp.api.example"), following a CNAME to the SRV owner,
    /// with glue from the ANSWER and ADDITIONAL sections.
    public func serviceAnswer(for name: String) -> ServiceAnswer {
        let chain = followCNAMEs(from: DNSName.normalized(name), until: .srv)
        var ttl: UInt32?
        var unavailable = false
        var entries: [SRVEntry] = []
        for record in answers where record.name == chain.owner && record.type == .srv
            && record.rrClass == ResourceRecord.internetClass {
            guard case .srv(let srv) = record.data else { continue }
            ttl = min(ttl ?? record.ttl, record.ttl)
            if srv.target.isEmpty {
                unavailable = true
                continue
            }
            let entry = SRVEntry(priority: srv.priority, weight: srv.weight, port: srv.port,
                                 target: srv.target, ttl: record.ttl)
            if let same = entries.firstIndex(where: { $0.sameTarget(as: entry) }) {
                entries[same].ttl = min(entries[same].ttl, entry.ttl)
            } else {
                entries.append(entry)
            }
        }
        if let chainTTL = chain.ttl, let rrsetTTL = ttl {
            ttl = min(chainTTL, rrsetTTL)
        }
        entries.sort { ($0.priority, $0.target, $0.port, $0.weight) < ($1.priority, $1.target, $1.port, $1.weight) }
        return ServiceAnswer(entries: entries, ttl: ttl, serviceUnavailable: unavailable,
                             glue: glue(for: Set(entries.map(\.target))), canonicalName: chain.owner)
    }

    /// Negative-caching TTL for NXDOMAIN and NODATA answers (RFC 2308 §5): the smallest of each
    /// AUTHORITY SOA's TTL and MINIMUM field. Nil when the server sent no SOA. A MINIMUM with the top
    /// bit set counts as 0, like a TTL.
    public var negativeTTL: UInt32? {
        var result: UInt32?
        for record in authority where record.type == .soa {
            guard case .soa(let soa) = record.data else { continue }
            let minimum = soa.minimum & 0x8000_0000 != 0 ? 0 : soa.minimum
            result = min(result ?? .max, record.ttl, minimum)
        }
        return result
    }

    /// Walks CNAME records from `name` until a name that owns records of `type`, a name with no
    /// CNAME, a loop or the length bound. Returns that owner and the minimum CNAME TTL on the way.
    private func followCNAMEs(from name: String, until type: RecordType) -> (owner: String, ttl: UInt32?) {
        var owner = name
        var ttl: UInt32?
        var seen: Set<String> = [name]
        for _ in 0..<Self.maxCNAMEChain {
            let inIN = answers.filter { $0.name == owner && $0.rrClass == ResourceRecord.internetClass }
            if inIN.contains(where: { $0.type == type }) { break }
            guard let alias = inIN.first(where: { $0.type == .cname }),
                  case .cname(let target) = alias.data, !seen.contains(target) else { break }
            seen.insert(target)
            ttl = min(ttl ?? alias.ttl, alias.ttl)
            owner = target
        }
        return (owner, ttl)
    }

    private func glue(for targets: Set<String>) -> [String: GlueAddresses] {
        var found: [String: (addresses: Set<IPAddress>, ttl: UInt32)] = [:]
        for record in answers + additional where targets.contains(record.name)
            && record.rrClass == ResourceRecord.internetClass {
            let address: IPAddress
            switch record.data {
            case .a(let a) where record.type == .a: address = a
            case .aaaa(let a) where record.type == .aaaa: address = a
            default: continue
            }
            var entry = found[record.name] ?? ([], record.ttl)
            entry.addresses.insert(address)
            entry.ttl = min(entry.ttl, record.ttl)
            found[record.name] = entry
        }
        return found.mapValues { GlueAddresses(addresses: $0.addresses.sorted(), ttl: $0.ttl) }
    }
}

extension SRVEntry {
    fileprivate func sameTarget(as other: SRVEntry) -> Bool {
        priority == other.priority && weight == other.weight && port == other.port && target == other.target
    }
}
