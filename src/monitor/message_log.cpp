#include "monitor/message_log.hpp"

#include <array>

namespace shopflow::monitor {

bool IsMessageStatus(std::string_view status) {
  static constexpr std::array kAll = {message_status::kPublished, message_status::kConsumed,
                                      message_status::kFailed, message_status::kDeadLettered};
  for (auto s : kAll) {
    if (s == status) return true;
  }
  return false;
}

CollectionSpec MessageLogCollection() {
  CollectionSpec spec{std::string(kMessagesCollection),
                      {"messageId", "eventType", "correlationId", "status", "orderId", "createdAt"},
                      {}};
  // Retention removes a row for every row written: at full load, deleting rows whose indexed
  // values had to be parsed out of their JSON again cost as much as writing them.
  spec.removed_often = true;
  return spec;
}

std::string OrderIdOf(const json::object& data) {
  if (const auto* id = data.if_contains("orderId"); id && id->is_string()) {
    return std::string(id->get_string());
  }
  if (const auto* metadata = GetObject(data, "metadata")) {
    if (const auto* id = metadata->if_contains("orderId"); id && id->is_string()) {
      return std::string(id->get_string());
    }
  }
  return "";
}

namespace {
json::object RowWithData(const MessageObservation& o, json::object data) {
  const EventMetadata& m = o.envelope.metadata;
  std::string order_id = OrderIdOf(data);
  json::object row{
      {"id", o.row_id},
      {"messageId", m.message_id},
      {"eventType", o.envelope.event_type},
      {"exchange", o.exchange},
      {"routingKey", o.routing_key},
      {"data", std::move(data)},
      {"metadata", json::object{{"source", m.source},
                                {"correlationId", m.correlation_id},
                                {"causationId", m.causation_id},
                                {"timestamp", FormatRfc3339(m.timestamp)},
                                {"version", m.version},
                                {"retryCount", m.retry_count}}},
      {"status", o.status},
      {"createdAt", FormatRfc3339(o.at)},
      {"correlationId", m.correlation_id},
      {"causationId", m.causation_id},
      {"source", m.source},
      {"module", o.module},
  };
  if (!order_id.empty()) row["orderId"] = std::move(order_id);
  if (!o.queue.empty()) {
    row["queue"] = o.queue;
    row["attempt"] = o.attempt;
  }
  if (o.duration_ms) row["durationMs"] = *o.duration_ms;
  if (!o.reason.empty()) row["reason"] = o.reason;
  return row;
}
}  // namespace

json::object ToMessageRow(const MessageObservation& o) { return RowWithData(o, o.envelope.data); }

json::object ToMessageRow(MessageObservation&& o) {
  json::object data = std::move(o.envelope.data);
  return RowWithData(o, std::move(data));
}

}  // namespace shopflow::monitor
