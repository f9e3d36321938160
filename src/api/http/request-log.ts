import type { Logger } from "../../logging";
import type { ApiPrincipal } from "../auth/keys";

/**
 * The one log line of a request: method, route template, status, time, and who called (key id
 * and role, never the key). Bodies, headers and query strings are never logged.
 */
export function logRequest(
  logger: Logger,
  r: {
    method: string;
    route: string;
    status: number;
    seconds: number;
    principal?: ApiPrincipal;
    errorCode?: string;
  },
): void {
  logger.info(
    {
      method: r.method,
      route: r.route,
      status: r.status,
      ms: Math.round(r.seconds * 1e6) / 1e3,
      keyId: r.principal?.keyId,
      role: r.principal?.role,
      code: r.status >= 400 ? r.errorCode : undefined,
    },
    "request",
  );
}
