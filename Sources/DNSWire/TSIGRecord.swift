/// A TSIG record (RFC 8945 §4.2): the signature a DNS server puts last in a signed message.
///
/// This type reads and writes the record and builds the exact bytes its MAC covers; computing the MAC
/// (HMAC with a shared secret) is left to the caller, so this module stays free of cryptography.
public struct TSIGRecord: Sendable, Equatable, Hashable {
    /// TSIG error field values (RFC 8945 §3).
    public enum ErrorCode {
        public static let badSig: UInt16 = 16
        public static let badKey: UInt16 = 17
        public static let badTime: UInt16 = 18
    }

    /// The key's name, lower case as every parsed name (the canonical form the MAC covers).
    public var keyName: String
    /// The algorithm's name, such as `hmac-sha256`.
    public var algorithm: String
    /// Seconds since 1970 when the message was signed (48 bits on the wire).
    public var timeSigned: UInt64
    /// Seconds of clock difference allowed either way.
    public var fudge: UInt16
    public var mac: [UInt8]
    /// The message ID when it was signed; forwarders may change the header's.
    public var originalID: UInt16
    public var error: UInt16
    public var otherData: [UInt8]

    public init(keyName: String, algorithm: String, timeSigned: UInt64, fudge: UInt16 = 300, mac: [UInt8] = [],
                originalID: UInt16, error: UInt16 = 0, otherData: [UInt8] = []) {
        self.keyName = DNSName.normalized(keyName)
        self.algorithm = DNSName.normalized(algorithm)
        self.timeSigned = timeSigned & 0xFFFF_FFFF_FFFF
        self.fudge = fudge
        self.mac = mac
        self.originalID = originalID
        self.error = error
        self.otherData = otherData
    }

    /// Reads the RDATA of a TSIG record owned by `keyName`. The algorithm name must not be compressed,
    /// as RFC 8945 requires, so the RDATA is read on its own.
    init(keyName: String, rdata: [UInt8]) throws(DNSWireError) {
        var reader = WireReader(rdata)
        let algorithm = try reader.name()
        let high = UInt64(try reader.u16())
        let low = UInt64(try reader.u32())
        let fudge = try reader.u16()
        let macSize = Int(try reader.u16())
        let mac = try reader.take(macSize)
        let originalID = try reader.u16()
        let error = try reader.u16()
        let otherSize = Int(try reader.u16())
        let other = try reader.take(otherSize)
        guard reader.offset == rdata.count else { throw DNSWireError(.badRecordLength, at: reader.offset) }
        self.init(keyName: keyName, algorithm: algorithm, timeSigned: high << 32 | low, fudge: fudge, mac: mac,
                  originalID: originalID, error: error, otherData: other)
    }

    /// The record's RDATA on the wire.
    public var rdata: [UInt8] {
        var writer = WireWriter()
        writer.name(algorithm)
        writeTime(&writer)
        writer.u16(UInt16(clamping: mac.count))
        writer.append(mac.prefix(Int(UInt16.max)))
        writer.u16(originalID)
        writer.u16(error)
        writer.u16(UInt16(clamping: otherData.count))
        writer.append(otherData.prefix(Int(UInt16.max)))
        return writer.bytes
    }

    /// The bytes the MAC covers (RFC 8945 §4.3.3): for a response, the request's MAC with its length first;
    /// then the message as it was before this record was added (ARCOUNT without it, ID = `originalID`);
    /// then the TSIG variables.
    public func signedData(message: [UInt8], requestMAC: [UInt8]? = nil) -> [UInt8] {
        var writer = WireWriter()
        if let requestMAC {
            writer.u16(UInt16(clamping: requestMAC.count))
            writer.append(requestMAC)
        }
        writer.append(message)
        writer.name(keyName)
        writer.u16(TSIGRecord.anyClass)
        writer.u32(0)
        writer.name(algorithm)
        writeTime(&writer)
        writer.u16(error)
        writer.u16(UInt16(clamping: otherData.count))
        writer.append(otherData)
        return writer.bytes
    }

    /// `message` with this record appended as the last ADDITIONAL record and ARCOUNT raised by one.
    /// `message` must hold at least a header (12 bytes); a shorter one is returned unchanged.
    public func appended(to message: [UInt8]) -> [UInt8] {
        guard message.count >= 12 else { return message }
        var out = message
        let count = (UInt16(out[10]) << 8 | UInt16(out[11])) &+ 1
        out[10] = UInt8(count >> 8)
        out[11] = UInt8(truncatingIfNeeded: count)
        var writer = WireWriter()
        writer.name(keyName)
        writer.u16(RecordType.tsig.rawValue)
        writer.u16(TSIGRecord.anyClass)
        writer.u32(0)
        let data = rdata
        writer.u16(UInt16(clamping: data.count))
        writer.append(data)
        return out + writer.bytes
    }

    /// Class ANY, the only class a TSIG record has.
    public static let anyClass: UInt16 = 255

    private func writeTime(_ writer: inout WireWriter) {
        writer.u16(UInt16(truncatingIfNeeded: timeSigned >> 32))
        writer.u32(UInt32(truncatingIfNeeded: timeSigned))
        writer.u16(fudge)
    }
}
