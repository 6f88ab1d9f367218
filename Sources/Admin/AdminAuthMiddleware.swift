import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Store

/// Token check in front of every Admin API route. A token comes in `Kong-Admin-Token` (Kong's header), as
/// `Authorization: Bearer`, or as HTTP Basic's password (any user name), which is what a browser can send for the
/// dashboard: a 401 asks for it with `WWW-Authenticate: Basic`. Failures answer 401/403 with a fixed body that tells nothing about why, and are
/// logged with the method and path only (never the presented token).
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let store: any ConfigStore
    /// Whether a token is required even when none is stored (a non-loopback listener).
    let alwaysRequired: Bool
    let logger: Logger

    static var tokenHeader: HTTPField.Name { HTTPField.Name("Kong-Admin-Token")! }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let required = alwaysRequired ? true : await store.hasTokens
        guard required else { return try await next(request, context) }
        var token = request.headers[Self.tokenHeader]
        if token == nil, let authorization = request.headers[.authorization],
           authorization.lowercased().hasPrefix("bearer ") {
            token = String(authorization.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        } else if token == nil, let authorization = request.headers[.authorization] {
            token = Self.basicPassword(authorization)
        }
        let role: AdminRole? = if let token, !token.isEmpty { await store.role(ofToken: token) } else { nil }
        guard let role else {
            logger.warning("admin request refused: missing or unknown token",
                           metadata: ["method": "\(request.method)", "path": "\(request.uri.path)"])
            var refusal = AdminResponse.message("Unauthorized", status: .unauthorized)
            refusal.headers[.wwwAuthenticate] = #"Basic realm="switchyard admin", charset="UTF-8""#
            return refusal
        }
        let reads: Set<HTTPRequest.Method> = [.get, .head, .options]
        if role == .readOnly && !reads.contains(request.method) {
            logger.warning("admin request refused: read-only token",
                           metadata: ["method": "\(request.method)", "path": "\(request.uri.path)"])
            return AdminResponse.message("Forbidden", status: .forbidden)
        }
        return try await next(request, context)
    }

    /// The password of `Authorization: Basic base64(user:password)`; nil for anything else.
    static func basicPassword(_ authorization: String) -> String? {
        guard authorization.count > 6, authorization.prefix(6).lowercased() == "basic " else { return nil }
        let encoded = authorization.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        return String(text[text.index(after: colon)...])
    }
}
