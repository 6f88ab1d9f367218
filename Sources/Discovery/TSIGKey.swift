import Crypto
import DNSWire
import Foundation

/// A shared TSIG secret (RFC 8945) as BIND's `tsig-keygen` writes it, used to check signed NOTIFY requests
/// and to sign the answers to them. Pure: the caller passes the time.
public struct TSIGKey: Sendable, Equatable {
    /// The HMAC algorithms `tsig-keygen -a` offers that this node can compute (hmac-sha224 is not one).
    public enum Algorithm: String, Sendable, CaseIterable {
        case hmacMD5 = "hmac-md5"
        case hmacSHA1 = "hmac-sha1"
        case hmacSHA256 = "hmac-sha256"
        case hmacSHA384 = "hmac-sha384"
        case hmacSHA512 = "hmac-sha512"

        /// The name on the wire; hmac-md5 keeps its historical one (RFC 8945 §6).
        public var wireName: String { self == .hmacMD5 ? "hmac-md5.sig-alg.reg.int" : rawValue }

        /// MAC length in bytes.
        public var macLength: Int {
            switch self {
            case .hmacMD5: 16
            case .hmacSHA1: 20
            case .hmacSHA256: 32
            case .hmacSHA384: 48
            case .hmacSHA512: 64
            }
        }
    }

    /// What checking a request's signature found (RFC 8945 §5.2), in the order the RFC checks.
    public enum Verdict: Sendable, Equatable {
        case valid
        /// Another key name or algorithm than this key's.
        case badKey
        /// The MAC does not match (or is truncated, which this node does not accept).
        case badSignature
        /// Signed too long ago or too far ahead: more than the record's fudge from `now`.
        case badTime
    }

    /// Lower case, without the trailing dot, as parsed names are.
    public let name: String
    public let algorithm: Algorithm
    private let secret: [UInt8]

    /// Fudge (seconds of clock difference allowed) written into signed answers, BIND's default.
    public static let fudge: UInt16 = 300

    public init(name: String, algorithm: Algorithm, secret: [UInt8]) {
        self.name = DNSName.normalized(name)
        self.algorithm = algorithm
        self.secret = secret
    }

    /// The MAC of `data` with this key.
    public func mac(_ data: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        switch algorithm {
        case .hmacMD5: return Array(HMAC<Insecure.MD5>.authenticationCode(for: data, using: key))
        case .hmacSHA1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: key))
        case .hmacSHA256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .hmacSHA384: return Array(HMAC<SHA384>.authenticationCode(for: data, using: key))
        case .hmacSHA512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        }
    }

    /// Checks a signed request. `now` is seconds since 1970.
    public func verify(_ tsig: TSIGRecord, signedMessage: [UInt8], now: UInt64) -> Verdict {
        guard tsig.keyName == name, tsig.algorithm == algorithm.wireName else { return .badKey }
        let expected = mac(tsig.signedData(message: signedMessage))
        guard tsig.mac.count == expected.count, TSIGKey.constantTimeEqual(tsig.mac, expected) else { return .badSignature }
        let skew = now > tsig.timeSigned ? now - tsig.timeSigned : tsig.timeSigned - now
        guard skew <= UInt64(tsig.fudge) else { return .badTime }
        return .valid
    }

    /// `message` signed: an answer to a request whose MAC was `requestMAC` (RFC 8945 §5.3), or with nil a
    /// request. With `error` BADTIME the server's time goes in the other data, as §5.2.3 asks.
    public func sign(_ message: [UInt8], id: UInt16, requestMAC: [UInt8]?, now: UInt64, error: UInt16 = 0) -> [UInt8] {
        var other: [UInt8] = []
        if error == TSIGRecord.ErrorCode.badTime {
            other = (0..<6).reversed().map { UInt8(truncatingIfNeeded: now >> (8 * UInt64($0))) }
        }
        var record = TSIGRecord(keyName: name, algorithm: algorithm.wireName, timeSigned: now, fudge: TSIGKey.fudge,
                                originalID: id, error: error, otherData: other)
        record.mac = mac(record.signedData(message: message, requestMAC: requestMAC))
        return record.appended(to: message)
    }

    /// `response` with an unsigned TSIG record carrying `error` (BADKEY, BADSIG): the answer to a request whose
    /// signature could not be checked, which RFC 8945 §5.3.2 says must not be signed.
    public static func unsignedError(_ response: [UInt8], request: TSIGRecord, id: UInt16, now: UInt64,
                                     error: UInt16) -> [UInt8] {
        TSIGRecord(keyName: request.keyName, algorithm: request.algorithm, timeSigned: now, fudge: request.fudge,
                   originalID: id, error: error).appended(to: response)
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

extension TSIGKey {
    /// Reads a key file as `tsig-keygen` writes it (also BIND's `key` statement in named.conf):
    ///
    ///     key "name" {
    ///         algorithm hmac-sha256;
    ///         secret "base64...";
    ///     };
    ///
    /// The file must hold exactly one key. Comments (`#`, `//`, `/* */`) are skipped.
    public static func parse(_ text: String) throws(TSIGKeyError) -> TSIGKey {
        let tokens = try tokenize(text)
        guard let first = tokens.firstIndex(of: .word("key")) else { throw TSIGKeyError("no `key \"NAME\" { ... };` statement") }
        guard tokens.lastIndex(of: .word("key")) == first else { throw TSIGKeyError("more than one key; give a file with one") }
        guard first + 2 < tokens.count, tokens[first + 2] == .open else { throw TSIGKeyError("expected `key \"NAME\" {`") }
        switch tokens[first + 1] {
        case .quoted(let name), .word(let name): return try body(name: name, tokens: Array(tokens[(first + 3)...]))
        default: throw TSIGKeyError("expected `key \"NAME\" {`")
        }
    }

    private static func body(name: String, tokens: [Token]) throws(TSIGKeyError) -> TSIGKey {
        guard !name.isEmpty else { throw TSIGKeyError("the key has an empty name") }
        var algorithmName: String?
        var secretText: String?
        var index = 0
        while index < tokens.count, tokens[index] != .close {
            guard index + 2 < tokens.count, tokens[index + 2] == .semicolon else {
                throw TSIGKeyError("expected `algorithm NAME;` and `secret \"BASE64\";` inside key \"\(name)\"")
            }
            switch (tokens[index], tokens[index + 1]) {
            case (.word("algorithm"), .word(let value)), (.word("algorithm"), .quoted(let value)): algorithmName = value
            case (.word("secret"), .quoted(let value)), (.word("secret"), .word(let value)): secretText = value
            case (.word(let other), _): throw TSIGKeyError("unknown clause `\(other)` in key \"\(name)\"")
            default: throw TSIGKeyError("unexpected text in key \"\(name)\"")
            }
            index += 3
        }
        guard index < tokens.count else { throw TSIGKeyError("key \"\(name)\" is not closed with `};`") }
        guard let algorithmName else { throw TSIGKeyError("key \"\(name)\" names no algorithm") }
        let lowered = algorithmName.lowercased()
        guard let algorithm = Algorithm(rawValue: lowered == "hmac-md5.sig-alg.reg.int" ? "hmac-md5" : lowered) else {
            throw TSIGKeyError("key \"\(name)\": algorithm \(algorithmName) is not supported (use one of "
                + Algorithm.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        guard let secretText else { throw TSIGKeyError("key \"\(name)\" has no secret") }
        guard let secret = Data(base64Encoded: secretText), !secret.isEmpty else {
            throw TSIGKeyError("key \"\(name)\": the secret is not base64")
        }
        return TSIGKey(name: name, algorithm: algorithm, secret: Array(secret))
    }

    private enum Token: Equatable {
        case word(String)
        case quoted(String)
        case open, close, semicolon
    }

    private static func tokenize(_ text: String) throws(TSIGKeyError) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text.unicodeScalars)
        var i = 0
        var word = ""
        func flush() {
            if !word.isEmpty { tokens.append(.word(word)) }
            word = ""
        }
        while i < chars.count {
            let c = chars[i]
            let next = i + 1 < chars.count ? chars[i + 1] : nil
            if c == "#" || (c == "/" && next == "/") {
                flush()
                while i < chars.count, chars[i] != "\n" { i += 1 }
            } else if c == "/" && next == "*" {
                flush()
                i += 2
                while i + 1 < chars.count, !(chars[i] == "*" && chars[i + 1] == "/") { i += 1 }
                guard i + 1 < chars.count else { throw TSIGKeyError("unterminated /* comment") }
                i += 2
            } else if c == "\"" {
                flush()
                var value = ""
                i += 1
                while i < chars.count, chars[i] != "\"" {
                    value.unicodeScalars.append(chars[i])
                    i += 1
                }
                guard i < chars.count else { throw TSIGKeyError("unterminated quoted string") }
                tokens.append(.quoted(value))
                i += 1
            } else if c == "{" || c == "}" || c == ";" {
                flush()
                tokens.append(c == "{" ? .open : c == "}" ? .close : .semicolon)
                i += 1
            } else if c.properties.isWhitespace {
                flush()
                i += 1
            } else {
                word.unicodeScalars.append(c)
                i += 1
            }
        }
        flush()
        return tokens
    }
}

/// A key file that cannot be used, with what is wrong in it.
public struct TSIGKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
