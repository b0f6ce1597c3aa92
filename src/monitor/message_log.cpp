#include "monitor/message_log.hpp"

#include <array>

#include "core/json_writer.hpp"

namespace shopflow::monitor {

CollectionSpec MessageLogCollection() {
  CollectionSpec spec{
      std::string(kMessagesCollection), {"messageId", "correlationId", "orderId", "createdAt"}, {}};
  // 12 event types and 4 statuses: their indexes were a sixth of the log writer's CPU and 7 %
  // of the bytes written per order (docs/PERFORMANCE.md), for filters that a scan of the
  // partitions' plain columns answers in under 100 ms at the default cap.
  spec.column_fields = {"eventType", "status"};
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
// The row's fields other than data; orderId comes from the data.
json::object RowWithoutData(const MessageFacts& f, const Envelope& event) {
  const EventMetadata& m = event.metadata;
  std::string order_id = OrderIdOf(event.data);
  json::object row{
      {"id", f.row_id},
      {"messageId", m.message_id},
      {"eventType", event.event_type},
      {"exchange", f.exchange},
      {"routingKey", f.routing_key},
      {"metadata", json::object{{"source", m.source},
                                {"correlationId", m.correlation_id},
                                {"causationId", m.causation_id},
                                {"timestamp", FormatRfc3339(m.timestamp)},
                                {"version", m.version},
                                {"retryCount", m.retry_count}}},
      {"status", f.status},
      {"createdAt", FormatRfc3339(f.at)},
      {"correlationId", m.correlation_id},
      {"causationId", m.causation_id},
      {"source", m.source},
      {"module", f.module},
  };
  if (!order_id.empty()) row["orderId"] = std::move(order_id);
  if (!f.queue.empty()) {
    row["queue"] = f.queue;
    row["attempt"] = f.attempt;
  }
  if (f.duration_ms) row["durationMs"] = *f.duration_ms;
  if (!f.reason.empty()) row["reason"] = f.reason;
  return row;
}
}  // namespace

json::object ToMessageRow(const MessageObservation& o) {
  json::object row = RowWithoutData(o, o.envelope);
  row["data"] = o.envelope.data;
  return row;
}

json::object ToMessageRow(MessageObservation&& o) {
  json::object row = RowWithoutData(o, o.envelope);
  row["data"] = std::move(o.envelope.data);
  return row;
}

std::array<KnownField, 6> MessageRowKeys::Known() const {
  auto present = [](const std::string& v) {
    return v.empty() ? std::nullopt : std::optional<std::string_view>(v);
  };
  return {KnownField{"messageId", message_id},         KnownField{"eventType", event_type},
          KnownField{"correlationId", correlation_id}, KnownField{"status", status},
          KnownField{"orderId", present(order_id)},    KnownField{"createdAt", created_at}};
}

std::string ToMessageRowText(const MessageFacts& f, const Envelope& event, MessageRowKeys* keys) {
  const EventMetadata& m = event.metadata;
  std::string out;
  out.reserve(1024);
  // Member by member, in RowWithoutData's order: the reporting (bus) thread writes every row,
  // and building the row object first cost as much as writing it.
  JsonObjectWriter row(out);
  row.String("id", f.row_id);
  row.String("messageId", m.message_id);
  row.String("eventType", event.event_type);
  row.String("exchange", f.exchange);
  row.String("routingKey", f.routing_key);
  row.Key("metadata");
  {
    JsonObjectWriter meta(out);
    meta.String("source", m.source);
    meta.String("correlationId", m.correlation_id);
    meta.String("causationId", m.causation_id);
    meta.String("timestamp", FormatRfc3339(m.timestamp));
    meta.String("version", m.version);
    meta.Number("retryCount", m.retry_count);
    meta.Close();
  }
  row.String("status", f.status);
  std::string created_at = FormatRfc3339(f.at);
  row.String("createdAt", created_at);
  row.String("correlationId", m.correlation_id);
  row.String("causationId", m.causation_id);
  row.String("source", m.source);
  row.String("module", f.module);
  std::string order_id = OrderIdOf(event.data);
  if (!order_id.empty()) row.String("orderId", order_id);
  if (!f.queue.empty()) {
    row.String("queue", f.queue);
    row.Number("attempt", f.attempt);
  }
  if (f.duration_ms) row.Number("durationMs", *f.duration_ms);
  if (!f.reason.empty()) row.String("reason", f.reason);
  row.Key("data");
  AppendJsonObject(out, event.data);
  row.Close();
  if (keys != nullptr) {
    keys->message_id = m.message_id;
    keys->event_type = event.event_type;
    keys->correlation_id = m.correlation_id;
    keys->status = f.status;
    keys->order_id = std::move(order_id);
    keys->created_at = std::move(created_at);
  }
  return out;
}

}  // namespace shopflow::monitor
