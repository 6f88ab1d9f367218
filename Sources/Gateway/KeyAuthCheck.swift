import Config
import Foundation
import NIOHTTP1
import Proxy
import Routing

/// Kong's `key-auth`: the key is read from the first configured header that is present, else from the
/// query string; a missing or unknown key is refused with 401 before anything reaches the upstream.
enum KeyAuthCheck {
    enum Result {
        case accepted(Consumer, header: String?, queryArg: String?)
        case refused(ProxyRoute.Refusal)
    }

    static func check(_ config: KeyAuthConfig, headers: RequestHeaders, uri: Substring, router: Router) -> Result {
        var key: String?
        var header: String?
        var queryArg: String?
        if config.keyInHeader {
            for name in config.keyNames {
                if let value = headers.first(name: name) {
                    key = value
                    header = name.lowercased()
                    break
                }
            }
        }
        if key == nil, config.keyInQuery, let query = uri.split(separator: "?", maxSplits: 1).dropFirst().first {
            search: for name in config.keyNames {
                for pair in query.split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    if parts.first.map(String.init) == name {
                        key = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
                        queryArg = name
                        break search
                    }
                }
            }
        }
        let challenge = [(name: "WWW-Authenticate", value: "Key realm=\"switchyard\"")]
        guard let key, !key.isEmpty else {
            return .refused(ProxyRoute.Refusal(status: 401, message: "No API key found in request", headers: challenge))
        }
        guard let consumer = router.consumer(forKey: key) else {
            return .refused(ProxyRoute.Refusal(status: 401, message: "Invalid authentication credentials", headers: challenge))
        }
        return .accepted(consumer, header: header, queryArg: queryArg)
    }

    /// The headers Kong adds for an authenticated consumer.
    static func consumerHeaders(_ consumer: Consumer) -> [(name: String, value: String)] {
        var headers = [(name: "X-Consumer-ID", value: consumer.id.uuidString.lowercased())]
        if let username = consumer.username { headers.append((name: "X-Consumer-Username", value: username)) }
        if let custom = consumer.customID { headers.append((name: "X-Consumer-Custom-ID", value: custom)) }
        return headers
    }

    /// `target` without the query argument `name` (for `hide_credentials`).
    static func removingQueryArgument(_ name: String, from target: String) -> String {
        guard let question = target.firstIndex(of: "?") else { return target }
        let path = target[..<question]
        let kept = target[target.index(after: question)...].split(separator: "&").filter { pair in
            pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) != name
        }
        return kept.isEmpty ? String(path) : path + "?" + kept.joined(separator: "&")
    }
}
