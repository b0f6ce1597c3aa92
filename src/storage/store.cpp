#include "storage/store.hpp"

#include <algorithm>
#include <future>

namespace shopflow {

Result<std::optional<std::string>> ReadTransaction::GetText(std::string_view collection,
                                                            std::string_view id) {
  auto doc = Get(collection, id);
  if (!doc) return std::move(doc).error();
  if (!doc->has_value()) return std::optional<std::string>();
  return std::optional<std::string>(ToJsonText(**doc));
}

Result<void> Transaction::InsertText(std::string_view collection, std::string_view id,
                                     std::string_view json_text) {
  auto parsed = ParseJson(json_text);
  if (!parsed || !parsed->is_object()) {
    return ValidationError("document for " + std::string(collection) + " is not a JSON object");
  }
  return Insert(collection, id, parsed->get_object());
}

Result<void> Transaction::InsertTextIndexed(std::string_view collection, std::string_view id,
                                            std::string_view json_text,
                                            std::span<const KnownField> /*known*/) {
  return InsertText(collection, id, json_text);
}

std::vector<CollectionSpec> MergeCollections(std::vector<std::vector<CollectionSpec>> groups) {
  std::vector<CollectionSpec> out;
  for (auto& group : groups) {
    for (auto& spec : group) {
      const bool known = std::any_of(out.begin(), out.end(),
                                     [&](const CollectionSpec& c) { return c.name == spec.name; });
      if (!known) out.push_back(std::move(spec));
    }
  }
  return out;
}

Result<void> WriteAndWait(Store& store, WriteFn fn) {
  std::promise<Result<void>> promise;
  auto future = promise.get_future();
  store.Write(std::move(fn), [&promise](Result<void> r) { promise.set_value(std::move(r)); });
  return future.get();
}

Result<void> ReadAndWait(Store& store, ReadFn fn) {
  std::promise<Result<void>> promise;
  auto future = promise.get_future();
  store.Read(std::move(fn), [&promise](Result<void> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace shopflow
