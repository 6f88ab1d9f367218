import DNSWire
import FuzzDriver

/// Any bytes as a DNS answer: parsed, and when they parse, every extraction the resolver performs (A and
/// AAAA along CNAME chains, SRV with glue, the SOA negative TTL). A crash, a hang or a sanitizer report is
/// a bug; a parse error is the expected answer to most inputs.
@main
enum FuzzDNSMessage {
    static func main() {
        runFuzzer { data, size in
            examine(fuzzBytes(data, size))
            return 0
        }
    }
}

func examine(_ bytes: [UInt8]) {
    guard let message = try? DNSMessage(parsing: bytes) else { return }
    let name = message.questions.first?.name ?? "example.test"
    for type in [RecordType.a, .aaaa] {
        let answer = message.addressAnswer(for: name, type: type)
        precondition(answer.ttl != nil || answer.addresses.isEmpty, "addresses without a TTL")
    }
    let service = message.serviceAnswer(for: name)
    for entry in service.entries {
        _ = service.glue[entry.target]
    }
    _ = message.negativeTTL
}
