import Foundation

/// One response as `dig` printed it: enough for tests to check records and TTLs against what a
/// resolver under test reports.
public struct TestDNSAnswer: Sendable, Equatable {
    /// One resource record line, e.g. `backend1.svc.test. 5 IN A 127.0.0.1`.
    public struct Record: Sendable, Equatable, CustomStringConvertible {
        /// Owner name with the trailing dot, as dig prints it.
        public let name: String
        public let ttl: Int
        public let type: String
        /// Presentation form with single spaces (`10 5 9001 backend1.svc.test.`).
        public let data: String

        public init(name: String, ttl: Int, type: String, data: String) {
            self.name = name
            self.ttl = ttl
            self.type = type
            self.data = data
        }

        public var description: String { "\(name) \(ttl) IN \(type) \(data)" }
    }

    /// `NOERROR`, `NXDOMAIN`, `SERVFAIL`, ...; empty if dig printed no header.
    public let status: String
    /// Header flags such as `qr`, `aa`, `tc`.
    public let flags: Set<String>
    public let answer: [Record]
    public let authority: [Record]
    public let additional: [Record]

    public var isTruncated: Bool { flags.contains("tc") }

    /// Parses `dig +noall +comments +answer +authority +additional` output.
    public init(digOutput: String) {
        var status = ""
        var flags: Set<String> = []
        var sections: [String: [Record]] = [:]
        var current = ""
        for rawLine in digOutput.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix(";; ->>HEADER<<-"), let range = line.range(of: "status: ") {
                status = String(line[range.upperBound...].prefix { $0 != "," })
            } else if line.hasPrefix(";; flags:") {
                let list = line.dropFirst(";; flags:".count).prefix { $0 != ";" }
                flags = Set(list.split(separator: " ").map(String.init))
            } else if line.hasPrefix(";; ") && line.hasSuffix(" SECTION:") {
                current = String(line.dropFirst(3).dropLast(" SECTION:".count))
            } else if !line.hasPrefix(";"), !line.isEmpty {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count >= 4, let ttl = Int(fields[1]) else { continue }
                let data = fields.count > 4 ? fields[4...].joined(separator: " ") : ""
                let record = Record(name: String(fields[0]), ttl: ttl, type: String(fields[3]), data: data)
                sections[current, default: []].append(record)
            }
        }
        self.status = status
        self.flags = flags
        self.answer = sections["ANSWER"] ?? []
        self.authority = sections["AUTHORITY"] ?? []
        self.additional = sections["ADDITIONAL"] ?? []
    }
}
