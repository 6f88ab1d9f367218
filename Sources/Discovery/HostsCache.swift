import DNSWire
import Foundation
import NIOConcurrencyHelpers

/// The hosts file, re-read when its modification time or size changes, so an edit takes effect without a
/// restart. Reading it is a `stat` per lookup, which is cheap next to a DNS query.
final class HostsCache: Sendable {
    private struct Loaded {
        var stamp: [Int] = []
        var file = HostsFile(parsing: "")
    }

    private let path: String
    private let loaded = NIOLockedValueBox(Loaded())

    init(path: String) {
        self.path = path
    }

    func addresses(of name: String, v6: Bool) -> [IPAddress]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let stamp = [Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec), Int(info.st_size), Int(info.st_ino)]
        return loaded.withLockedValue { state in
            if state.stamp != stamp {
                let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                state = Loaded(stamp: stamp, file: HostsFile(parsing: text))
            }
            return state.file.addresses(of: name, v6: v6)
        }
    }
}
