import Foundation
import Balancer
@testable import Proxy
import Testing

/// Access-log lines from plain values: what the JSON and text formats write, without a socket.
@Suite("access log format")
struct AccessLogFormatTests {
    func entry() -> AccessLogEntry {
        var entry = AccessLogEntry(startedAt: 1_796_325_801_722, clientIP: "127.0.0.1", method: "GET",
                                   uri: "/orders?id=\"7\"\n")
        entry.status = 200
        entry.upstreamStatus = 200
        entry.bytesIn = 12
        entry.bytesOut = 150
        entry.requestId = "49ef448fbcbed716"
        entry.route = "orders"
        entry.service = "orders-svc"
        entry.upstream = "orders.upstream"
        entry.tries = [
            .init(address: Address("10.0.0.1:80")!, outcome: "connect_failed"),
            .init(address: Address("[::1]:8080")!, outcome: "ok", status: 200, connectMilliseconds: 0.127, ttfbMilliseconds: 3.892),
        ]
        entry.flags = [.upstreamConnectionFailure]
        entry.totalMilliseconds = 5.0081
        entry.upstreamConnectMilliseconds = 0.127
        entry.upstreamTTFBMilliseconds = 3.892
        entry.upstreamTotalMilliseconds = 3.976
        return entry
    }

    @Test("JSON: one parseable object per line, Kong's names, tries, latencies and flags")
    func json() throws {
        var out: [UInt8] = []
        AccessLogFormat.json.write(entry(), into: &out)
        #expect(out.last == UInt8(ascii: "\n"))
        #expect(out.dropLast().contains(UInt8(ascii: "\n")) == false, "one line, even with a newline in the target")
        let object = try #require(JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        #expect(object["started_at"] as? Int == 1_796_325_801_722)
        let request = try #require(object["request"] as? [String: Any])
        #expect(request["uri"] as? String == "/orders?id=\"7\"\n")
        #expect(request["size"] as? Int == 12)
        #expect((object["response"] as? [String: Any])?["status"] as? Int == 200)
        #expect(object["upstream"] as? String == "orders.upstream")
        let tries = try #require(object["tries"] as? [[String: Any]])
        #expect(tries.map { $0["outcome"] as? String } == ["connect_failed", "ok"])
        #expect(tries[0]["connect_ms"] is NSNull)
        #expect(tries[1]["ttfb_ms"] as? Double == 3.892)
        let latencies = try #require(object["latencies"] as? [String: Any])
        #expect(latencies["total_ms"] as? Double == 5.008)
        #expect(latencies["proxy_ms"] as? Double == 1.032)
        #expect(object["flags"] as? [String] == ["UF"])
    }

    @Test("JSON: the trace id of the request's traceparent, and DS when DNS answers were served stale")
    func traceAndStaleDNS() throws {
        var entry = entry()
        entry.trace = TraceParent(traceHigh: 0x4bf9_2f35_77b3_4da6, traceLow: 0xa3ce_929d_0e0e_4736, parentId: 7, flags: 1)
        entry.flags = [.upstreamConnectionFailure, .servedStaleDNS]
        var out: [UInt8] = []
        AccessLogFormat.json.write(entry, into: &out)
        let object = try #require(JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        #expect(object["trace_id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(object["flags"] as? [String] == ["UF", "DS"])
    }

    @Test("JSON: an answer of Switchyard's own has no upstream status and null upstream latencies")
    func ownAnswer() throws {
        var entry = AccessLogEntry(startedAt: 0, clientIP: "::1", method: "GET", uri: "/")
        entry.status = 503
        entry.flags = [.noHealthyUpstream]
        var out: [UInt8] = []
        AccessLogFormat.json.write(entry, into: &out)
        let object = try #require(JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        #expect(object["upstream_status"] is NSNull)
        #expect((object["latencies"] as? [String: Any])?["upstream_total_ms"] is NSNull)
        #expect(object["flags"] as? [String] == ["UH"])
        #expect(object["tries"] as? [Any] != nil)
    }

    @Test("text: Common Log Format, then request id, upstream address, total time and flags")
    func text() {
        var out: [UInt8] = []
        AccessLogFormat.text.write(entry(), into: &out)
        let line = String(decoding: out, as: UTF8.self)
        #expect(line == "127.0.0.1 - - [03/Dec/2026:19:23:21 +0000] \"GET /orders?id=?7?? HTTP/1.1\" 200 150 id=49ef448fbcbed716 upstream=[::1]:8080 total_ms=5.008 flags=UF\n")
    }

    @Test("CLF times across the calendar: the epoch, a leap day, the end of a year")
    func times() {
        func text(_ milliseconds: Int64) -> String {
            var out: [UInt8] = []
            var entry = AccessLogEntry(startedAt: milliseconds, clientIP: "", method: "-", uri: "-")
            entry.requestId = "x"
            AccessLogFormat.text.write(entry, into: &out)
            let line = String(decoding: out, as: UTF8.self)
            return String(line.split(separator: "[")[1].split(separator: "]")[0])
        }
        #expect(text(0) == "01/Jan/1970:00:00:00 +0000")
        #expect(text(951_782_400_000) == "29/Feb/2000:00:00:00 +0000")
        #expect(text(1_798_761_599_999) == "31/Dec/2026:23:59:59 +0000")
    }
}
