#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "storage/store.hpp"

namespace shopflow::security {

class Gate;

/// The audit log of privileged actions (issue 8): who (sub, role), what (action, method,
/// route, target ids, answer status), when. It shares the "audit_log" collection of the
/// dead-letter manager (src/monitor/dlq/audit_log.hpp), which records re-drives and discards
/// itself, in the same transaction as the change; the actions of other modules (order status
/// changes and cancellations, payment status changes, refunds, notifications sent by hand,
/// fault injection) are recorded here, right after the handler answered: attempts that were
/// refused (409, 404, ...) are recorded too, with their status.
///
/// Thread-safe; store and clock must outlive it.
class AuditTrail {
 public:
  AuditTrail(Store& store, const Clock& clock);

  /// Wraps the handlers of the routes whose policy entry names an audit action (the others are
  /// returned unchanged). The wrapper must run behind the Gate (it reads request.principal).
  std::vector<Route> Wrap(std::vector<Route> routes);

  /// Appends one row: {auditId, action, messageIds: [], actor, correlationId, at, details:
  /// {role, authenticated, method, route, path, params, status}}.
  boost::asio::awaitable<Result<void>> Record(std::string action, std::string route,
                                              const ApiRequest& request, int status);

  /// GET /api/audit: rows newest first, optionally of one action. List shape.
  boost::asio::awaitable<Result<json::value>> List(std::optional<std::string> action, Page page);

 private:
  Store& store_;
  const Clock& clock_;
};

/// GET /api/auth/whoami → {sub, role, authenticated, auth: "on"|"off"} and GET /api/audit.
std::vector<Route> SecurityRoutes(const Gate& gate, AuditTrail& audit);

}  // namespace shopflow::security
