import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import Proxy
import Testing

/// Which smuggling cases NIOHTTP1's parser (llhttp) rejects by itself, and proof that the proxy's own
/// header checks cover the ones it accepts. With NIO 2.101, llhttp rejects all of `ProxyIntegrationTests.HostileClientTests.smuggling`
/// except an unsupported coding before `chunked` (`gzip, chunked`) a repeated `Host` and a missing one, which the proxy refuses.
@Suite struct ParserCoverageTests {
    /// Feeds a request to a bare NIOHTTP1 decoder: the error it raised, or the heads it produced.
    static func decode(_ request: String) -> (error: (any Error)?, heads: [HTTPRequestHead]) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        defer { _ = try? channel.finish() }
        do {
            try channel.writeInbound(ByteBuffer(string: request))
        } catch {
            return (error, [])
        }
        var heads: [HTTPRequestHead] = []
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            if case .head(let head) = part { heads.append(head) }
        }
        return (nil, heads)
    }

    @Test(arguments: ProxyIntegrationTests.HostileClientTests.smuggling.indices)
    func everySmugglingCaseIsCaughtByTheParserOrByTheProxy(index: Int) {
        let (name, request) = ProxyIntegrationTests.HostileClientTests.smuggling[index]
        let (error, heads) = Self.decode(request)
        if error != nil { return }
        let flagged = heads.contains { head in
            RequestFacts(head.headers).invalid != nil || head.method == .CONNECT
                || (head.version.minor >= 1 && RequestFacts(head.headers).host == nil)
        }
        #expect(flagged, "\(name) passes the parser and must be caught by RequestFacts")
    }
}
