/// The byte-level state machine of chunked transfer coding (RFC 9112 §7.1), shared by the request
/// and response framers. Strict: a bare LF, a bad size digit or a missing CRLF after data is an
/// error, because lenient chunk parsing is how two parties come to disagree on where a message ends.
enum ChunkedFraming {
    static let maxLineBytes = 4 * 1024

    enum State: Equatable {
        case size(value: Int64, digits: Int)
        /// Whitespace after the size: only more of it or an extension may follow.
        case sizeSpace(size: Int64)
        case sizeExtension(size: Int64, length: Int)
        case sizeLF(size: Int64)
        /// Chunk data: callers skip it by count rather than byte by byte.
        case data(remaining: Int64)
        case dataCR
        case dataLF
        case trailerLineStart
        case trailerLine(length: Int)
        case trailerLF
        case finalLF
    }

    enum Step {
        case next
        case data
        case finished
        case error(String)
    }

    static let start = State.size(value: 0, digits: 0)

    /// Advances over one framing byte.
    static func step(_ state: inout State, byte: UInt8) -> Step {
        switch state {
        case .size(let value, let digits):
            if let digit = hexValue(byte) {
                guard digits < 15 else { return .error("chunk size too large") }
                state = .size(value: value << 4 | Int64(digit), digits: digits + 1)
                return .next
            }
            guard digits > 0 else { return .error("invalid chunk size") }
            switch byte {
            case UInt8(ascii: "\r"):
                state = .sizeLF(size: value)
            case UInt8(ascii: ";"):
                state = .sizeExtension(size: value, length: 1)
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                state = .sizeSpace(size: value)
            default:
                return .error("invalid chunk size")
            }
            return .next
        case .sizeSpace(let size):
            switch byte {
            case UInt8(ascii: ";"):
                state = .sizeExtension(size: size, length: 1)
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                break
            default:
                return .error("invalid chunk size")
            }
            return .next
        case .sizeExtension(let size, let length):
            if byte == UInt8(ascii: "\r") {
                state = .sizeLF(size: size)
                return .next
            }
            guard HeadScan.isFieldByte(byte) else { return .error("invalid byte in chunk extension") }
            guard length < maxLineBytes else { return .error("chunk extension too long") }
            state = .sizeExtension(size: size, length: length + 1)
            return .next
        case .sizeLF(let size):
            guard byte == UInt8(ascii: "\n") else { return .error("chunk size line not ended by CRLF") }
            state = size == 0 ? .trailerLineStart : .data(remaining: size)
            return .next
        case .data:
            return .data
        case .dataCR:
            guard byte == UInt8(ascii: "\r") else { return .error("chunk data not followed by CRLF") }
            state = .dataLF
            return .next
        case .dataLF:
            guard byte == UInt8(ascii: "\n") else { return .error("chunk data not followed by CRLF") }
            state = start
            return .next
        case .trailerLineStart:
            if byte == UInt8(ascii: "\r") {
                state = .finalLF
                return .next
            }
            guard ResponseFramer.isTokenByte(byte) else { return .error("invalid trailer field") }
            state = .trailerLine(length: 1)
            return .next
        case .trailerLine(let length):
            if byte == UInt8(ascii: "\r") {
                state = .trailerLF
                return .next
            }
            guard HeadScan.isFieldByte(byte) else { return .error("invalid byte in trailer") }
            guard length < maxLineBytes else { return .error("trailer line too long") }
            state = .trailerLine(length: length + 1)
            return .next
        case .trailerLF:
            guard byte == UInt8(ascii: "\n") else { return .error("trailer not ended by CRLF") }
            state = .trailerLineStart
            return .next
        case .finalLF:
            guard byte == UInt8(ascii: "\n") else { return .error("chunked body not ended by CRLF") }
            return .finished
        }
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }
}
