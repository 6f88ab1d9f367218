/// One entry of the QUESTION section.
public struct Question: Sendable, Equatable, Hashable {
    /// Lower-cased presentation form without the trailing dot ("" is the root).
    public var name: String
    public var type: RecordType
    /// Class; 1 is IN.
    public var rrClass: UInt16

    public init(name: String, type: RecordType, rrClass: UInt16 = ResourceRecord.internetClass) {
        self.name = name
        self.type = type
        self.rrClass = rrClass
    }
}
