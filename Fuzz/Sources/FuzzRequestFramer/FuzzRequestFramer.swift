import FuzzDriver
import NIOCore
@testable import Proxy

/// Client bytes through the proxy's request framer, cut into reads as TCP might cut them. The first
/// byte chooses the read size (1 to 256 bytes); the rest is the stream. Checked: the framer never
/// claims more bytes than it was given, stops after an error or a head it refuses, and never loops.
@main
enum FuzzRequestFramer {
    static func main() {
        runFuzzer { data, size in
            examine(fuzzBytes(data, size))
            return 0
        }
    }
}

func examine(_ input: [UInt8]) {
    guard let first = input.first else { return }
    let readSize = Int(first) + 1
    let stream = input.dropFirst()
    var limits = ProxyLimits()
    limits.maxURILength = 512
    limits.maxHeaderBytes = 2048
    var framer = RequestFramer(limits: limits)
    var offset = stream.startIndex
    var events = 0
    while offset < stream.endIndex {
        let end = min(offset + readSize, stream.endIndex)
        var buffer = ByteBuffer(bytes: stream[offset..<end])
        offset = end
        do {
            while let event = try framer.next(&buffer) {
                events += 1
                precondition(events <= stream.count + 2, "more events than input bytes: the framer loops")
                if case .head(let head) = event, head.facts.invalid != nil { return }
            }
        } catch {
            return
        }
    }
}
