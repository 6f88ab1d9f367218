#if canImport(Glibc)
import Glibc
#endif

/// Which event loops run the proxy's client and upstream sockets.
///
/// `direct` (the default) is the proxy's own epoll loop per worker (`DirectEventLoop`), which does the same work
/// as SwiftNIO's socket channels in far fewer instructions per request (docs/benchmarks.md). `nio` runs them on
/// SwiftNIO's `MultiThreadedEventLoopGroup`, as before; the handlers are the same on both. Set
/// `SWITCHYARD_PROXY_ENGINE=nio` to choose it.
public enum ProxyEngine: String, Sendable, CaseIterable, CustomStringConvertible {
    case direct
    case nio

    public var description: String { rawValue }

    /// `SWITCHYARD_PROXY_ENGINE` when it names an engine, else `direct`.
    public static var fromEnvironment: ProxyEngine {
        guard let value = getenv("SWITCHYARD_PROXY_ENGINE") else { return .direct }
        return ProxyEngine(rawValue: String(cString: value).lowercased()) ?? .direct
    }
}
