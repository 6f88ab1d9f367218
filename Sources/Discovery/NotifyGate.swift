import DNSWire

/// Decides what to do with one UDP packet sent to the NOTIFY listener: act on it, refuse it with an answer,
/// or drop it. Pure: the caller passes the source, the wall-clock time and which zones hold watched names,
/// and sends the reply bytes it gets back.
///
/// Order of checks: a packet that is not a readable request is dropped (never answer a response: two
/// servers could bounce errors forever); then the source must be inside `allow`; then the opcode and
/// question; then the TSIG signature (required when `key` is set); then the zone must hold a watched name.
public struct NotifyGate: Sendable {
    /// Why a packet ended where it did; the listener counts each.
    public enum Outcome: String, Sendable, CaseIterable {
        case accepted
        /// Not a well-formed DNS message, or a TSIG record that is not last. Dropped.
        case malformed
        /// A DNS response (QR bit). Dropped.
        case response
        /// A source outside `dns_notify_allow`. REFUSED.
        case sourceRefused = "source_refused"
        /// Another opcode than NOTIFY, or not one SOA IN question. REFUSED.
        case notNotify = "not_notify"
        /// No TSIG record while a key is required. REFUSED.
        case unsigned
        /// Unknown key name or algorithm. NOTAUTH, TSIG error BADKEY.
        case badKey = "bad_key"
        /// MAC does not match. NOTAUTH, TSIG error BADSIG.
        case badSignature = "bad_signature"
        /// Signed outside the fudge window. NOTAUTH, TSIG error BADTIME.
        case badTime = "bad_time"
        /// A zone without any watched name. REFUSED.
        case unknownZone = "unknown_zone"
    }

    public struct Decision: Sendable, Equatable {
        public var outcome: Outcome
        /// The zone to refresh (only when accepted).
        public var zone: String?
        /// The bytes to send back, nil to stay silent.
        public var reply: [UInt8]?
        /// For logs: what was wrong, in words.
        public var reason: String
    }

    /// Source address blocks allowed to send NOTIFY.
    public var allow: [IPNetwork]
    /// When set, every NOTIFY must be signed with it.
    public var key: TSIGKey?

    public init(allow: [IPNetwork], key: TSIGKey? = nil) {
        self.allow = allow
        self.key = key
    }

    /// - Parameters:
    ///   - now: seconds since 1970, for the TSIG time check and signed answers.
    ///   - isWatched: whether a zone holds a watched name.
    public func decide(_ bytes: [UInt8], from source: IPAddress, now: UInt64,
                       isWatched: (String) -> Bool) -> Decision {
        let notify: NotifyMessage
        do {
            notify = try NotifyMessage(parsing: bytes)
        } catch {
            switch error.code {
            case .malformed, .tsigNotLast:
                return Decision(outcome: .malformed, reply: nil, reason: error.description)
            case .response:
                return Decision(outcome: .response, reply: nil, reason: error.description)
            case .notNotify, .badQuestion:
                guard let id = error.id, let opcode = error.opcode else {
                    return Decision(outcome: .malformed, reply: nil, reason: error.description)
                }
                let outcome: Outcome = allows(source) ? .notNotify : .sourceRefused
                let reply = NotifyMessage.response(id: id, opcode: opcode, question: error.question, rcode: .refused)
                return Decision(outcome: outcome, reply: reply,
                                reason: outcome == .sourceRefused ? "source \(source) is not allowed" : error.description)
            }
        }
        guard allows(source) else {
            return Decision(outcome: .sourceRefused, reply: notify.response(rcode: .refused),
                            reason: "source \(source) is not in dns_notify_allow")
        }
        var signer: TSIGKey?
        switch checkSignature(notify, now: now) {
        case .refuse(let decision):
            return decision
        case .signWith(let key):
            signer = key
        }
        func answer(_ rcode: ResponseCode) -> [UInt8] {
            let plain = notify.response(rcode: rcode)
            guard let signer, let tsig = notify.tsig else { return plain }
            return signer.sign(plain, id: notify.id, requestMAC: tsig.mac, now: now)
        }
        guard !notify.zone.isEmpty, isWatched(notify.zone) else {
            return Decision(outcome: .unknownZone, reply: answer(.refused),
                            reason: "zone \"\(notify.zone)\" holds no watched name")
        }
        return Decision(outcome: .accepted, zone: notify.zone, reply: answer(.noError),
                        reason: "NOTIFY for \(notify.zone)" + (notify.serial.map { " serial \($0)" } ?? ""))
    }

    private enum SignatureCheck {
        case refuse(Decision)
        /// Go on; sign the answer with this key (nil: the request was unsigned and no key is required).
        case signWith(TSIGKey?)
    }

    private func checkSignature(_ notify: NotifyMessage, now: UInt64) -> SignatureCheck {
        guard let tsig = notify.tsig, let signed = notify.signedMessage else {
            if key == nil { return .signWith(nil) }
            return .refuse(Decision(outcome: .unsigned, reply: notify.response(rcode: .refused),
                                    reason: "NOTIFY for \(notify.zone) is not signed; dns_notify_tsig_key requires it"))
        }
        func notAuth(_ outcome: Outcome, _ error: UInt16, _ reason: String) -> SignatureCheck {
            .refuse(Decision(outcome: outcome, reply: TSIGKey.unsignedError(notify.response(rcode: .notAuth), request: tsig,
                                                                           id: notify.id, now: now, error: error),
                             reason: reason))
        }
        guard let key else {
            return notAuth(.badKey, TSIGRecord.ErrorCode.badKey,
                           "NOTIFY signed with key \"\(tsig.keyName)\" but no dns_notify_tsig_key is set")
        }
        switch key.verify(tsig, signedMessage: signed, now: now) {
        case .valid:
            return .signWith(key)
        case .badKey:
            return notAuth(.badKey, TSIGRecord.ErrorCode.badKey,
                           "NOTIFY signed with key \"\(tsig.keyName)\" (\(tsig.algorithm)), not \"\(key.name)\" (\(key.algorithm.wireName))")
        case .badSignature:
            return notAuth(.badSignature, TSIGRecord.ErrorCode.badSig, "NOTIFY signature does not match key \"\(key.name)\"")
        case .badTime:
            let reply = key.sign(notify.response(rcode: .notAuth), id: notify.id, requestMAC: tsig.mac, now: now,
                                 error: TSIGRecord.ErrorCode.badTime)
            return .refuse(Decision(outcome: .badTime, reply: reply,
                                    reason: "NOTIFY signed at \(tsig.timeSigned), \(now) now: outside the \(tsig.fudge) s fudge"))
        }
    }

    private func allows(_ source: IPAddress) -> Bool {
        allow.contains { $0.contains(source) }
    }
}
