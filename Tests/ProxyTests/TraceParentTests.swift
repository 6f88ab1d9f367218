import NIOCore
import Testing
@testable import Proxy

/// W3C trace-context parsing as a receiver must do it, and the header written upstream.
@Suite("traceparent")
struct TraceParentTests {
    func parse(_ text: String) -> TraceParent? {
        Array(text.utf8).withUnsafeBytes { TraceParent($0) }
    }

    func header(_ trace: TraceParent) -> String {
        var buffer = ByteBuffer()
        trace.writeHeader(into: &buffer)
        return String(buffer: buffer)
    }

    @Test("a valid version-00 context is kept: trace id, parent id and flags")
    func parsesVersionZero() throws {
        let trace = try #require(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        #expect(trace.traceHigh == 0x4bf9_2f35_77b3_4da6)
        #expect(trace.traceLow == 0xa3ce_929d_0e0e_4736)
        #expect(trace.parentId == 0x00f0_67aa_0ba9_02b7)
        #expect(trace.flags == 1)
        #expect(header(trace) == "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n")
    }

    @Test("invalid contexts are refused, so a new one is started", arguments: [
        "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",           // too short
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",            // upper case
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",            // zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",            // zero parent id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",            // forbidden version
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",      // version 00 is exactly 55
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",            // wrong separator
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",            // not hex
    ])
    func refusesInvalid(_ text: String) {
        #expect(parse(text) == nil)
    }

    @Test("a later version is read for its first 55 characters when what follows is set off by a dash")
    func acceptsLaterVersions() throws {
        let trace = try #require(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-comes-next"))
        #expect(trace.flags == 0)
        #expect(header(trace).hasPrefix("traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-"))
        #expect(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00x") == nil)
    }

    @Test("a generated context uses the request id as trace id, is sampled, and has a non-zero parent id")
    func generated() {
        let id = RequestId(prefix: 0x1122_3344_5566_7788, counter: 42)
        let trace = TraceParent(generatedFrom: id)
        #expect(trace.traceHigh == id.prefix && trace.traceLow == id.counter)
        #expect(trace.parentId != 0)
        #expect(trace.flags == 1)
        #expect(TraceParent(generatedFrom: RequestId(prefix: id.prefix, counter: 43)).parentId != trace.parentId)
        #expect(header(trace) == "traceparent: 00-\(id.text)-" + String(trace.parentId, radix: 16).leftPadded(16) + "-01\r\n")
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
