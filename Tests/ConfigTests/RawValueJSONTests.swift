import Config
import Testing

/// `RawValue` as the Admin API's JSON value: the bytes of its responses (compact, sorted keys, Foundation's
/// number formatting and escaping) must stay as they are.
@Suite("RawValue as JSON")
struct RawValueJSONTests {
    @Test func writesCompactWithSortedKeys() {
        let value = RawValue.object([
            "b": .int(1),
            "a": .array([.bool(true), .null, .double(1.5), .double(2), .double(1e-7), .string("x/\"\n\u{8}\u{1}é")]),
            "B": .object([:]),
        ])
        #expect(value.jsonText == #"{"B":{},"a":[true,null,1.5,2,1e-07,"x/\"\n\b\u0001é"],"b":1}"#)
        #expect(RawValue.string("/a?b=c&d").jsonText == #""/a?b=c&d""#)
        #expect(RawValue.array([.double(.nan)]).jsonText == "null", "JSON has no NaN")
    }

    @Test func readsJSONOnly() throws {
        let value = try #require(RawValue.parse(json: #"{"z":{"port":8080,"w":1.0,"on":false},"a":"x"}"#))
        #expect(value.object?["a"]?.string == "x")
        guard case let .int(port, _)? = value.object?["z"]?.object?["port"] else {
            Issue.record("port is not an integer: \(value)")
            return
        }
        #expect(port == 8080)
        #expect(value.jsonText == #"{"a":"x","z":{"on":false,"port":8080,"w":1}}"#)
        #expect(value == RawValue.object(["a": .string("x"), "z": .object(["port": .int(8080), "w": .int(1), "on": .bool(false)])]))
        #expect(RawValue.parse(json: "a: 1") == nil, "YAML is not JSON")
        #expect(RawValue.parse(json: "[1, 2") == nil)
    }
}
