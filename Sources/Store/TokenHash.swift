import Crypto

/// SHA-256 of a token, hex encoded: what the store keeps instead of the token.
enum TokenHash {
    static func hex(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }

    /// 32 random bytes, hex encoded, prefixed so a leaked token is recognisable in logs and scanners.
    static func newToken<G: RandomNumberGenerator>(using generator: inout G) -> String {
        var text = "syd_"
        for _ in 0..<32 {
            let byte = UInt8.random(in: 0...255, using: &generator)
            text += byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
        }
        return text
    }
}
