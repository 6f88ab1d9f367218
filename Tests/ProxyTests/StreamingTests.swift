import TestSupport
import Atomics
import Foundation
import NIOCore
import Proxy
import Testing

extension ProxyIntegrationTests {
    /// Large bodies stream through with back-pressure: the process's resident memory stays far below the
    /// body size (the proxy, the backend and the client all live in this test process).
    @Suite(.timeLimit(.minutes(3)))
    struct StreamingTests {
        static let bodySize = 256 * 1024 * 1024
        /// Allowed RSS growth while 256 MB pass through: buffers, not bodies.
        static let allowedGrowth = 96 * 1024 * 1024

        static func residentBytes() -> Int {
            guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
            let fields = text.split(separator: " ")
            guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
            return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        }

        /// Samples RSS until `body` returns; gives the peak growth over the starting value.
        static func peakGrowth(during body: () throws -> Void) async throws -> Int {
            let baseline = residentBytes()
            let peak = ManagedAtomic<Int>(baseline)
            let done = ManagedAtomic<Bool>(false)
            let sampler = Task.detached {
                while !done.load(ordering: .relaxed) {
                    let now = residentBytes()
                    if now > peak.load(ordering: .relaxed) { peak.store(now, ordering: .relaxed) }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            defer { done.store(true, ordering: .relaxed) }
            try body()
            done.store(true, ordering: .relaxed)
            await sampler.value
            return max(0, max(peak.load(ordering: .relaxed), residentBytes()) - baseline)
        }

        @Test func streamsALargeUploadInBoundedMemory() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client(timeoutSeconds: 30)
            let pattern = [UInt8](repeating: UInt8(ascii: "u"), count: 64 * 1024)
            var response: TestResponse? = nil
            let growth = try await Self.peakGrowth {
                try client.send("POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: \(Self.bodySize)\r\n\r\n")
                try client.sendRepeated(pattern, count: Self.bodySize)
                response = try client.readResponse()
            }
            #expect(response?.text == "received \(Self.bodySize)")
            #expect(growth < Self.allowedGrowth, "RSS grew by \(growth / 1_048_576) MB")
        }

        @Test func streamsALargeDownloadInBoundedMemory() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client(timeoutSeconds: 30)
            var received = 0
            let growth = try await Self.peakGrowth {
                try client.send("GET /source?n=\(Self.bodySize) HTTP/1.1\r\nHost: a\r\n\r\n")
                let head = try client.readResponse(readBody: false)
                #expect(head.header("content-length") == String(Self.bodySize))
                received = try client.discardBody(Self.bodySize)
            }
            #expect(received == Self.bodySize)
            #expect(growth < Self.allowedGrowth, "RSS grew by \(growth / 1_048_576) MB")
            // Still in step afterwards.
            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().text == "hello from a")
        }

        @Test func streamsAChunkedUploadOfUnknownLength() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client(timeoutSeconds: 30)
            let chunk = [UInt8](repeating: UInt8(ascii: "c"), count: 32 * 1024)
            let chunks = 1024  // 32 MB
            try client.send("POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in 0..<chunks {
                try client.send(Array("8000\r\n".utf8) + chunk + Array("\r\n".utf8))
            }
            try client.send("0\r\n\r\n")
            #expect(try client.readResponse().text == "received \(chunks * chunk.count)")
        }
    }
}
