import DNSWire
import FuzzDriver

/// Any bytes as a DNS answer: parsed, and when they parse, every extraction the resolver performs (A and
/// AAAA along CNAME chains, SRV with glue, the SOA negative TTL). The same bytes as a NOTIFY request, as the
/// NOTIFY listener reads them: parsed, answered, and for a signed one the TSIG digest input and a signed
/// answer built. A crash, a hang or a sanitizer report is a bug; a parse error is the expected answer to
/// most inputs.
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
    examineNotify(bytes)
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

/// The same bytes as a NOTIFY request: parsed, answered, and when signed, the TSIG digest input built.
func examineNotify(_ bytes: [UInt8]) {
    do {
        let notify = try NotifyMessage(parsing: bytes)
        let answer = notify.response()
        precondition(answer.count >= 12, "NOTIFY answer shorter than a header")
        if let tsig = notify.tsig {
            let signed = notify.signedMessage ?? []
            precondition(signed.count >= 12, "signed message shorter than a header")
            _ = tsig.signedData(message: signed, requestMAC: tsig.mac)
            _ = tsig.appended(to: answer)
        }
    } catch {
        if let id = error.id, let opcode = error.opcode {
            _ = NotifyMessage.response(id: id, opcode: opcode, question: error.question, rcode: .refused)
        }
    }
}
