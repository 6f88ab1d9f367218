import Balancer

/// How an access-log line is written: JSON (one object per line, Kong's field names where Kong has one) or text
/// (Common Log Format followed by the request id, the upstream address and the total time).
public enum AccessLogFormat: String, Sendable, CaseIterable {
    case json
    case text

    /// Appends `entry` and a newline to `out`. Pure: bytes in, bytes out.
    public func write(_ entry: AccessLogEntry, into out: inout [UInt8]) {
        switch self {
        case .json: Self.json(entry, into: &out)
        case .text: Self.text(entry, into: &out)
        }
        out.append(UInt8(ascii: "\n"))
    }

    static func json(_ entry: AccessLogEntry, into out: inout [UInt8]) {
        var object = JSONLine()
        object.open(into: &out)
        object.field("started_at", entry.startedAt, into: &out)
        object.field("client_ip", entry.clientIP, into: &out)
        object.raw("request", into: &out)
        var request = JSONLine()
        request.open(into: &out)
        request.field("method", entry.method, into: &out)
        request.field("uri", entry.uri, into: &out)
        request.raw("id", into: &out)
        Self.requestId(entry, into: &out, quoted: true)
        request.field("size", entry.bytesIn, into: &out)
        out.append(UInt8(ascii: "}"))
        if let trace = entry.trace {
            object.raw("trace_id", into: &out)
            out.append(UInt8(ascii: "\""))
            trace.appendTraceId(to: &out)
            out.append(UInt8(ascii: "\""))
        }
        object.raw("response", into: &out)
        var response = JSONLine()
        response.open(into: &out)
        response.field("status", Int64(entry.status), into: &out)
        response.field("size", entry.bytesOut, into: &out)
        out.append(UInt8(ascii: "}"))
        object.optional("upstream_status", entry.upstreamStatus, into: &out)
        object.optional("route", entry.route, into: &out)
        object.optional("service", entry.service, into: &out)
        object.optional("upstream", entry.upstream, into: &out)
        object.raw("tries", into: &out)
        out.append(UInt8(ascii: "["))
        for (index, attempt) in entry.tries.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            var item = JSONLine()
            item.open(into: &out)
            item.raw("address", into: &out)
            out.append(UInt8(ascii: "\""))
            Self.address(attempt.address, into: &out)
            out.append(UInt8(ascii: "\""))
            item.field("outcome", attempt.outcome, into: &out)
            item.optional("status", attempt.status, into: &out)
            item.optionalMilliseconds("connect_ms", attempt.connectMilliseconds, into: &out)
            item.optionalMilliseconds("ttfb_ms", attempt.ttfbMilliseconds, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        object.raw("latencies", into: &out)
        var latencies = JSONLine()
        latencies.open(into: &out)
        latencies.milliseconds("total_ms", entry.totalMilliseconds, into: &out)
        latencies.milliseconds("proxy_ms", entry.proxyMilliseconds, into: &out)
        latencies.optionalMilliseconds("upstream_connect_ms", entry.upstreamConnectMilliseconds, into: &out)
        latencies.optionalMilliseconds("upstream_ttfb_ms", entry.upstreamTTFBMilliseconds, into: &out)
        latencies.optionalMilliseconds("upstream_total_ms", entry.upstreamTotalMilliseconds, into: &out)
        out.append(UInt8(ascii: "}"))
        object.raw("flags", into: &out)
        out.append(UInt8(ascii: "["))
        var first = true
        for (flag, name) in AccessLogEntry.Flags.names where entry.flags.contains(flag) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONLine.string(name, into: &out)
        }
        out.append(UInt8(ascii: "]"))
        out.append(UInt8(ascii: "}"))
    }

    /// `127.0.0.1 - - [03/Dec/2026:19:20:01 +0000] "GET /x HTTP/1.1" 200 512 id=… upstream=10.0.0.1:80 total_ms=1.234`
    static func text(_ entry: AccessLogEntry, into out: inout [UInt8]) {
        out.append(contentsOf: (entry.clientIP.isEmpty ? "-" : entry.clientIP).utf8)
        out.append(contentsOf: " - - [".utf8)
        CommonLogTime.write(millisecondsSince1970: entry.startedAt, into: &out)
        out.append(contentsOf: "] \"".utf8)
        for byte in entry.method.utf8 { out.append(byte) }
        out.append(UInt8(ascii: " "))
        // A quote or control byte in the target would break the line's fields.
        for byte in entry.uri.utf8 { out.append(byte == UInt8(ascii: "\"") || byte < 0x20 ? UInt8(ascii: "?") : byte) }
        out.append(contentsOf: " HTTP/1.1\" ".utf8)
        JSONLine.integer(Int64(entry.status), into: &out)
        out.append(UInt8(ascii: " "))
        JSONLine.integer(entry.bytesOut, into: &out)
        out.append(contentsOf: " id=".utf8)
        Self.requestId(entry, into: &out, quoted: false)
        out.append(contentsOf: " upstream=".utf8)
        if let last = entry.tries.last { Self.address(last.address, into: &out) } else { out.append(UInt8(ascii: "-")) }
        out.append(contentsOf: " total_ms=".utf8)
        JSONLine.milliseconds(entry.totalMilliseconds, into: &out)
        if !entry.flags.isEmpty {
            out.append(contentsOf: " flags=".utf8)
            var first = true
            for (flag, name) in AccessLogEntry.Flags.names where entry.flags.contains(flag) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out.append(contentsOf: name.utf8)
            }
        }
    }
}

extension AccessLogFormat {
    static func requestId(_ entry: AccessLogEntry, into out: inout [UInt8], quoted: Bool) {
        if entry.requestId.isEmpty, let generated = entry.generatedId {
            if quoted { out.append(UInt8(ascii: "\"")) }
            generated.write(into: &out)
            if quoted { out.append(UInt8(ascii: "\"")) }
        } else if quoted {
            JSONLine.string(entry.requestId, into: &out)
        } else {
            out.append(contentsOf: entry.requestId.utf8)
        }
    }

    /// `10.0.0.1:80` without building a string (IPv4); IPv6 as `Address.description` prints it.
    static func address(_ address: Address, into out: inout [UInt8]) {
        if case .v4(let value) = address.ip {
            JSONLine.integer(Int64(value >> 24), into: &out)
            out.append(UInt8(ascii: "."))
            JSONLine.integer(Int64(value >> 16 & 0xFF), into: &out)
            out.append(UInt8(ascii: "."))
            JSONLine.integer(Int64(value >> 8 & 0xFF), into: &out)
            out.append(UInt8(ascii: "."))
            JSONLine.integer(Int64(value & 0xFF), into: &out)
            out.append(UInt8(ascii: ":"))
            JSONLine.integer(Int64(address.port), into: &out)
        } else {
            out.append(contentsOf: address.description.utf8)
        }
    }
}

/// Writes the `"key":value` pairs of one JSON object straight into the line's bytes (no intermediate strings).
struct JSONLine {
    private var first = true

    mutating func open(into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        first = true
    }

    private mutating func key(_ name: StaticString, into out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    /// The key of a nested object or array; the caller writes the value.
    mutating func raw(_ name: StaticString, into out: inout [UInt8]) {
        key(name, into: &out)
    }

    mutating func field(_ name: StaticString, _ value: String, into out: inout [UInt8]) {
        key(name, into: &out)
        Self.string(value, into: &out)
    }

    mutating func field(_ name: StaticString, _ value: Int64, into out: inout [UInt8]) {
        key(name, into: &out)
        Self.integer(value, into: &out)
    }

    mutating func optional(_ name: StaticString, _ value: String?, into out: inout [UInt8]) {
        key(name, into: &out)
        if let value { Self.string(value, into: &out) } else { Self.null(into: &out) }
    }

    mutating func optional(_ name: StaticString, _ value: Int?, into out: inout [UInt8]) {
        key(name, into: &out)
        if let value { Self.integer(Int64(value), into: &out) } else { Self.null(into: &out) }
    }

    mutating func milliseconds(_ name: StaticString, _ value: Double, into out: inout [UInt8]) {
        key(name, into: &out)
        Self.milliseconds(value, into: &out)
    }

    mutating func optionalMilliseconds(_ name: StaticString, _ value: Double?, into out: inout [UInt8]) {
        key(name, into: &out)
        if let value { Self.milliseconds(value, into: &out) } else { Self.null(into: &out) }
    }

    static func null(into out: inout [UInt8]) {
        out.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")])
    }

    static func string(_ value: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most values need no escaping: copy them in one go.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: value.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0x09: out.append(contentsOf: "\\t".utf8)
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.appendHex(UInt64(byte), digits: 2)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func integer(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            integer(value == .min ? .max : -value, into: &out)
            return
        }
        if value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        integer(value / 10, into: &out)
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    /// Milliseconds with three decimals (microseconds), e.g. `12.345`.
    static func milliseconds(_ value: Double, into out: inout [UInt8]) {
        let micros = value.isFinite ? Int64((max(0, value) * 1000).rounded()) : 0
        integer(micros / 1000, into: &out)
        out.append(UInt8(ascii: "."))
        let fraction = micros % 1000
        if fraction < 100 { out.append(UInt8(ascii: "0")) }
        if fraction < 10 { out.append(UInt8(ascii: "0")) }
        integer(fraction, into: &out)
    }
}

/// `03/Dec/2026:19:20:01 +0000`, from milliseconds since 1970 (UTC), without Foundation's formatters.
enum CommonLogTime {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func write(millisecondsSince1970 milliseconds: Int64, into out: inout [UInt8]) {
        let seconds = milliseconds / 1000
        var days = seconds / 86_400
        let daySeconds = seconds - days * 86_400
        // Civil from days (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        two(day, into: &out)
        out.append(UInt8(ascii: "/"))
        out.append(contentsOf: months[Int(month - 1)].utf8)
        out.append(UInt8(ascii: "/"))
        JSONLine.integer(year, into: &out)
        out.append(UInt8(ascii: ":"))
        two(daySeconds / 3600, into: &out)
        out.append(UInt8(ascii: ":"))
        two(daySeconds / 60 % 60, into: &out)
        out.append(UInt8(ascii: ":"))
        two(daySeconds % 60, into: &out)
        out.append(contentsOf: " +0000".utf8)
    }

    private static func two(_ value: Int64, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "0") + UInt8(value / 10 % 10))
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
    }
}
