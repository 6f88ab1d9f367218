/// RDATA. Typed cases are produced for class IN only; everything else, including records of other
/// classes, stays `.other` with the bytes as received (names compressed inside them still refer to
/// the original message).
public enum RecordData: Sendable, Equatable, Hashable {
    case a(IPAddress)
    case aaaa(IPAddress)
    case cname(String)
    case ns(String)
    case ptr(String)
    case mx(preference: UInt16, exchange: String)
    case srv(SRVData)
    case soa(SOAData)
    case other([UInt8])
}

/// SRV RDATA (RFC 2782). A `target` of "" is the root ("."): the service is decidedly not available.
public struct SRVData: Sendable, Equatable, Hashable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    public var target: String

    public init(priority: UInt16, weight: UInt16, port: UInt16, target: String) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }
}

/// SOA RDATA; `minimum` bounds negative caching (RFC 2308).
public struct SOAData: Sendable, Equatable, Hashable {
    public var mname: String
    public var rname: String
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    public var minimum: UInt32

    public init(mname: String, rname: String, serial: UInt32, refresh: UInt32, retry: UInt32,
                expire: UInt32, minimum: UInt32) {
        self.mname = mname
        self.rname = rname
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}
