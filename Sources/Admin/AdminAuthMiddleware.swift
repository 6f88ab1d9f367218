import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Store

/// Token check in front of every Admin API route. A token comes in `Kong-Admin-Token` (Kong's header) or as
/// `Authorization: Bearer`. Failures answer 401/403 with a fixed body that tells nothing about why, and are
/// logged with the method and path only (never the presented token).
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let store: ConfigStore
    /// Whether a token is required even when none is stored (a non-loopback listener).
    let alwaysRequired: Bool
    let logger: Logger

    static var tokenHeader: HTTPField.Name { HTTPField.Name("Kong-Admin-Token")! }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        guard alwaysRequired || store.hasTokens else { return try await next(request, context) }
        var token = request.headers[Self.tokenHeader]
        if token == nil, let authorization = request.headers[.authorization],
           authorization.lowercased().hasPrefix("bearer ") {
            token = String(authorization.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        }
        guard let token, !token.isEmpty, let role = store.role(ofToken: token) else {
            logger.warning("admin request refused: missing or unknown token",
                           metadata: ["method": "\(request.method)", "path": "\(request.uri.path)"])
            return AdminResponse.message("Unauthorized", status: .unauthorized)
        }
        let reads: Set<HTTPRequest.Method> = [.get, .head, .options]
        if role == .readOnly && !reads.contains(request.method) {
            logger.warning("admin request refused: read-only token",
                           metadata: ["method": "\(request.method)", "path": "\(request.uri.path)"])
            return AdminResponse.message("Forbidden", status: .forbidden)
        }
        return try await next(request, context)
    }
}
