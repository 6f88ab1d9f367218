/// What the process taking a node over and the running node say on the node's control socket: one
/// JSON object per frame (a 4-byte big-endian length, then the JSON).
///
/// The conversation of a takeover: the new process asks `takeover`; the running node answers with its
/// listening sockets attached (`SCM_RIGHTS`, in the order of `listeners`) and its state; the new process
/// serves on them and says `serving`; the running node stops accepting, lets go of its Admin API, NOTIFY and
/// control socket, answers `released`, and drains. Any other turn (an error, a timeout, a closed connection)
/// leaves the running node serving as before.
public struct ControlRequest: Sendable, Codable {
    /// "status", "takeover" or "serving".
    public var op: String
    /// The asking process.
    public var pid: Int32

    public init(op: String, pid: Int32) {
        self.op = op
        self.pid = pid
    }
}

public struct ControlReply: Sendable, Codable {
    /// One listening socket handed over, in the order its descriptor is attached.
    public struct Listener: Sendable, Codable, Hashable {
        public var host: String
        public var port: Int
        public var ssl: Bool

        public init(host: String, port: Int, ssl: Bool) {
            self.host = host
            self.port = port
            self.ssl = ssl
        }
    }

    /// "status", "takeover", "released" or "error".
    public var op: String
    public var pid: Int32
    public var error: String?
    public var listeners: [Listener]?
    public var carry: NodeCarry?

    public init(op: String, pid: Int32, error: String? = nil, listeners: [Listener]? = nil, carry: NodeCarry? = nil) {
        self.op = op
        self.pid = pid
        self.error = error
        self.listeners = listeners
        self.carry = carry
    }
}
