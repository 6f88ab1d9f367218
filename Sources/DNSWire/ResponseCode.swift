/// A response code. Only the 4 header bits are read and written; the EDNS extended bits in an
/// OPT record are left in that record.
public struct ResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    public static let noError = ResponseCode(rawValue: 0)
    public static let formErr = ResponseCode(rawValue: 1)
    public static let servFail = ResponseCode(rawValue: 2)
    public static let nxDomain = ResponseCode(rawValue: 3)
    public static let notImp = ResponseCode(rawValue: 4)
    public static let refused = ResponseCode(rawValue: 5)
    /// Not authorized: the answer to a request whose TSIG signature does not check out (RFC 8945 §5.2).
    public static let notAuth = ResponseCode(rawValue: 9)

    public var description: String {
        switch self {
        case .noError: "NOERROR"
        case .formErr: "FORMERR"
        case .servFail: "SERVFAIL"
        case .nxDomain: "NXDOMAIN"
        case .notImp: "NOTIMP"
        case .refused: "REFUSED"
        case .notAuth: "NOTAUTH"
        default: "RCODE\(rawValue)"
        }
    }
}
