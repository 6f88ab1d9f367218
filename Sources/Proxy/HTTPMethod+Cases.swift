import NIOHTTP1

/// Case tests by pattern. `HTTPMethod` is also `RawRepresentable`, and `==` on it compares the `rawValue`
/// strings it builds (about 100 instructions a comparison), on every request.
extension HTTPMethod {
    public var isHEAD: Bool { if case .HEAD = self { true } else { false } }
    public var isCONNECT: Bool { if case .CONNECT = self { true } else { false } }
    public var isOPTIONS: Bool { if case .OPTIONS = self { true } else { false } }
}
