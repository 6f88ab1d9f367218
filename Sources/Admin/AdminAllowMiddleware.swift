import DNSWire
import Hummingbird
import Logging
import NIOCore

/// Refuses Admin API requests from clients outside the configured address blocks (`admin_allow`), before
/// any token is looked at. A client whose address is unknown is refused too.
struct AdminAllowMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let allow: [IPNetwork]
    let logger: Logger

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        if let ip = context.remoteAddress?.ipAddress.flatMap(IPAddress.init), allow.contains(where: { $0.contains(ip) }) {
            return try await next(request, context)
        }
        logger.warning("admin request refused: client not in admin_allow",
                       metadata: ["client": "\(context.remoteAddress?.ipAddress ?? "unknown")",
                                  "method": "\(request.method)", "path": "\(request.uri.path)"])
        return AdminResponse.message("Forbidden", status: .forbidden)
    }
}
