#pragma once

// The behaviour every Store backend must share (storage/store.hpp), as a value-parameterized
// GoogleTest suite. A backend's test file includes this header (in exactly one .cpp of its test
// binary: the TEST_P bodies are defined here) and instantiates the suite:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
//                            ::testing::Values(shopflow::testing::StoreBackend{"sqlite", ...}),
//                            shopflow::testing::StoreBackendName);
//
// Each test gets a fresh, empty storage location (StoreBackend::new_location) and may open it
// several times to simulate a restart.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "events/envelope.hpp"
#include "storage/store.hpp"
#include "tests/support/fake_clock.hpp"

namespace shopflow::testing {

/// Opens a store over one storage location with the given collections; nullptr on failure.
using StoreFactory = std::function<std::unique_ptr<Store>(const std::vector<CollectionSpec>&)>;

/// One fresh, empty storage location (a temp file, a uniquely named database). Every store that
/// `open` returns shares it, so opening again after destroying a store simulates a restart.
struct StoreLocation {
  StoreFactory open;
  std::function<void()> cleanup;  // optional; runs after the test's last store is destroyed
};

/// A backend under test.
struct StoreBackend {
  std::string name;  // [A-Za-z0-9_]+, used in test names
  std::function<StoreLocation()> new_location;
};

inline std::string StoreBackendName(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param.name;
}

/// Success, or a failure message carrying the error's code and text.
template <class T>
::testing::AssertionResult IsOk(const Result<T>& result) {
  if (result.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << ErrorCodeName(result.error().code) << ": " << result.error().message;
}

/// Polls `condition` with short waits until it holds or `timeout` passes (no fixed sleeps).
inline bool WaitUntil(const std::function<bool()>& condition,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

/// Counts completions and lets a test wait for an expected number of them.
class CompletionCounter {
 public:
  void Done() {
    std::lock_guard lock(mutex_);
    ++count_;
    cv_.notify_all();
  }
  bool WaitFor(int expected, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= expected; });
  }
  int count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int count_ = 0;
};

class StoreConformanceTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  static constexpr const char* kProducts = "products";  // unique sku, indexed category
  static constexpr const char* kOrders = "orders";      // indexed status and created_at
  static constexpr const char* kCounters = "counters";  // no indexes

  static std::vector<CollectionSpec> Specs() {
    return {
        {kProducts, {"category"}, {"sku"}},
        {kOrders, {"status", "created_at"}, {}},
        {kCounters, {}, {}},
    };
  }

  void SetUp() override {
    location_ = GetParam().new_location();
    store_ = location_.open(Specs());
    ASSERT_NE(store_, nullptr) << "backend " << GetParam().name << " failed to open";
  }

  void TearDown() override {
    store_.reset();
    if (location_.cleanup) location_.cleanup();
  }

  /// Simulates a crash and restart: the store is destroyed and the same location reopened.
  void Reopen() {
    store_.reset();
    store_ = location_.open(Specs());
    ASSERT_NE(store_, nullptr);
  }

  Store& store() { return *store_; }

  Result<void> Write(WriteFn fn) { return WriteAndWait(*store_, std::move(fn)); }
  Result<void> Read(ReadFn fn) { return ReadAndWait(*store_, std::move(fn)); }

  std::optional<json::object> Get(std::string_view collection, std::string_view id) {
    std::optional<json::object> doc;
    auto read = Read([&](ReadTransaction& tx) -> Result<void> {
      auto got = tx.Get(collection, id);
      if (!got) return std::move(got).error();
      doc = std::move(*got);
      return Ok();
    });
    EXPECT_TRUE(IsOk(read));
    return doc;
  }

  /// The document, or an empty object when it is missing.
  json::object Doc(std::string_view collection, std::string_view id) {
    return Get(collection, id).value_or(json::object());
  }

  int64_t CountAll(std::string_view collection) {
    int64_t count = -1;
    auto read = Read([&](ReadTransaction& tx) -> Result<void> {
      auto counted = tx.Count(collection, {});
      if (!counted) return std::move(counted).error();
      count = *counted;
      return Ok();
    });
    EXPECT_TRUE(IsOk(read));
    return count;
  }

  FoundPage Find(std::string_view collection, const FindQuery& query) {
    FoundPage page;
    auto read = Read([&](ReadTransaction& tx) -> Result<void> {
      auto found = tx.Find(collection, query);
      if (!found) return std::move(found).error();
      page = std::move(*found);
      return Ok();
    });
    EXPECT_TRUE(IsOk(read));
    return page;
  }

  Result<void> Insert(std::string_view collection, std::string_view id, json::object doc) {
    return Write([&](Transaction& tx) { return tx.Insert(collection, id, doc); });
  }

  std::vector<std::string> PendingMessageIds() {
    auto pending = store_->PendingOutbox(100'000);
    EXPECT_TRUE(IsOk(pending));
    std::vector<std::string> ids;
    if (pending) {
      for (const auto& record : *pending) ids.push_back(record.event.metadata.message_id);
    }
    return ids;
  }

  static Envelope Event(std::string_view type, int64_t n) {
    return MakeEvent(std::string(type), json::object{{"n", n}}, "conformance", "corr-1", "",
                     FromUnixMillis(1'795'000'000'000 + n));
  }

  static json::object Product(std::string_view sku, std::string_view category, int64_t stock) {
    return json::object{{"sku", sku}, {"category", category}, {"stock", stock}};
  }

  static std::vector<std::string> Ids(const FoundPage& page, std::string_view key = "id") {
    std::vector<std::string> ids;
    for (const auto& doc : page.docs) ids.push_back(GetString(doc, key));
    return ids;
  }

  StoreLocation location_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformanceTest, InsertGetReplaceRemove) {
  ASSERT_TRUE(IsOk(Insert(kProducts, "p1", Product("SKU-1", "books", 5))));
  auto doc = Get(kProducts, "p1");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(*doc, Product("SKU-1", "books", 5));

  ASSERT_TRUE(IsOk(Write(
      [](Transaction& tx) { return tx.Replace(kProducts, "p1", Product("SKU-1", "books", 4)); })));
  doc = Get(kProducts, "p1");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(GetInt(*doc, "stock"), 4);

  ASSERT_TRUE(IsOk(Write([](Transaction& tx) { return tx.Remove(kProducts, "p1"); })));
  EXPECT_FALSE(Get(kProducts, "p1").has_value());
  EXPECT_EQ(CountAll(kProducts), 0);
}

TEST_P(StoreConformanceTest, GetTextIsTheDocumentAsJsonTextAndSeesTheLatestWrite) {
  auto text_of = [&](std::string_view id) {
    std::optional<std::string> text;
    auto read = Read([&](ReadTransaction& tx) -> Result<void> {
      auto got = tx.GetText(kProducts, id);
      if (!got) return std::move(got).error();
      text = std::move(*got);
      return Ok();
    });
    EXPECT_TRUE(IsOk(read));
    return text;
  };
  json::object doc = Product("SKU-1", "books", 5);
  doc["name"] = "quote \" and \u00e9";
  ASSERT_TRUE(IsOk(Insert(kProducts, "p1", doc)));
  auto text = text_of("p1");
  ASSERT_TRUE(text.has_value());
  auto parsed = ParseJson(*text);
  ASSERT_TRUE(parsed.ok()) << *text;
  EXPECT_EQ(*parsed, json::value(*Get(kProducts, "p1")));

  ASSERT_TRUE(IsOk(Write(
      [](Transaction& tx) { return tx.Replace(kProducts, "p1", Product("SKU-1", "books", 4)); })));
  text = text_of("p1");
  ASSERT_TRUE(text.has_value());
  parsed = ParseJson(*text);
  ASSERT_TRUE(parsed.ok()) << *text;
  ASSERT_TRUE(parsed->is_object());
  EXPECT_EQ(GetInt(parsed->get_object(), "stock"), 4);

  EXPECT_FALSE(text_of("nope").has_value());
  auto unknown = Read([](ReadTransaction& tx) -> Result<void> {
    auto got = tx.GetText("no_such_collection", "p1");
    if (!got) return std::move(got).error();
    return Ok();
  });
  EXPECT_FALSE(unknown.ok());
}

TEST_P(StoreConformanceTest, MissingDocumentIsEmptyAndReplaceOrRemoveOfItIsNotFound) {
  EXPECT_FALSE(Get(kProducts, "nope").has_value());
  auto replaced =
      Write([](Transaction& tx) { return tx.Replace(kProducts, "nope", Product("S", "c", 1)); });
  ASSERT_FALSE(replaced.ok());
  EXPECT_EQ(replaced.error().code, ErrorCode::kNotFound);
  auto removed = Write([](Transaction& tx) { return tx.Remove(kProducts, "nope"); });
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(CountAll(kProducts), 0);
}

TEST_P(StoreConformanceTest, WriteSeesItsOwnUncommittedWrites) {
  ASSERT_TRUE(IsOk(Write([](Transaction& tx) -> Result<void> {
    if (auto inserted = tx.Insert(kOrders, "o1", {{"status", "NEW"}}); !inserted) return inserted;
    auto got = tx.Get(kOrders, "o1");
    if (!got) return std::move(got).error();
    if (!got->has_value()) return InternalError("own insert not visible");
    auto counted = tx.Count(kOrders, {});
    if (!counted) return std::move(counted).error();
    if (*counted != 1) return InternalError("own insert not counted");
    return Ok();
  })));
}

TEST_P(StoreConformanceTest, DuplicateIdIsConflictAndWritesNothing) {
  ASSERT_TRUE(IsOk(Insert(kProducts, "p1", Product("SKU-1", "books", 5))));
  Result<void> duplicate = Ok();
  auto write = Write([&](Transaction& tx) -> Result<void> {
    if (auto other = tx.Insert(kProducts, "p2", Product("SKU-2", "books", 1)); !other) return other;
    duplicate = tx.Insert(kProducts, "p1", Product("SKU-3", "toys", 9));
    return duplicate;
  });
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, ErrorCode::kConflict);
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().code, ErrorCode::kConflict);
  // The original is untouched and the other insert of the failed write is rolled back.
  EXPECT_EQ(Get(kProducts, "p1"), Product("SKU-1", "books", 5));
  EXPECT_FALSE(Get(kProducts, "p2").has_value());
  EXPECT_EQ(CountAll(kProducts), 1);
}

TEST_P(StoreConformanceTest, DuplicateUniqueFieldIsConflictNamingTheField) {
  ASSERT_TRUE(IsOk(Insert(kProducts, "p1", Product("SKU-1", "books", 5))));
  auto clash = Insert(kProducts, "p2", Product("SKU-1", "toys", 1));
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, ErrorCode::kConflict);
  EXPECT_NE(clash.error().message.find("sku"), std::string::npos) << clash.error().message;
  EXPECT_FALSE(Get(kProducts, "p2").has_value());
  EXPECT_EQ(CountAll(kProducts), 1);

  // A different value is fine; replacing onto another document's value clashes too.
  ASSERT_TRUE(IsOk(Insert(kProducts, "p2", Product("SKU-2", "toys", 1))));
  auto replace_clash =
      Write([](Transaction& tx) { return tx.Replace(kProducts, "p2", Product("SKU-1", "t", 1)); });
  ASSERT_FALSE(replace_clash.ok());
  EXPECT_EQ(replace_clash.error().code, ErrorCode::kConflict);
  EXPECT_EQ(GetString(Doc(kProducts, "p2"), "sku"), "SKU-2");
  // Replacing a document with its own unique value is not a clash.
  EXPECT_TRUE(IsOk(Write(
      [](Transaction& tx) { return tx.Replace(kProducts, "p2", Product("SKU-2", "t", 7)); })));
}

TEST_P(StoreConformanceTest, InsertTextStoresTheDocumentItsTextIsAndRefusesOtherText) {
  const json::object product = Product("SKU-1", "books", 5);
  ASSERT_TRUE(IsOk(
      Write([&](Transaction& tx) { return tx.InsertText(kProducts, "p1", ToJsonText(product)); })));
  EXPECT_EQ(Get(kProducts, "p1"), product);
  // Its fields are indexed and unique like an inserted document's.
  FindQuery books;
  books.filters = {{"category", FieldFilter::Op::kEq, "books"}};
  EXPECT_EQ(Find(kProducts, books).docs.size(), 1u);
  auto clash = Write([&](Transaction& tx) {
    return tx.InsertText(kProducts, "p2", ToJsonText(Product("SKU-1", "toys", 1)));
  });
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, ErrorCode::kConflict);
  auto same_id = Write([&](Transaction& tx) {
    return tx.InsertText(kProducts, "p1", ToJsonText(Product("SKU-9", "toys", 1)));
  });
  ASSERT_FALSE(same_id.ok());
  EXPECT_EQ(same_id.error().code, ErrorCode::kConflict);

  // Text that is not a JSON object: refused, nothing written, the transaction still usable.
  for (const std::string text :
       {"[1, 2]", "\"a string\"", "{\"unterminated\": ", "", "nope", "{nope: 1}"}) {
    Result<void> refused = Ok();
    ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
      refused = tx.InsertText(kProducts, "bad", text);
      return tx.Insert(kProducts, "after-" + std::to_string(text.size()),
                       Product("SKU-A" + std::to_string(text.size()), "x", 1));
    }))) << text;
    ASSERT_FALSE(refused.ok()) << text;
    EXPECT_EQ(refused.error().code, ErrorCode::kValidationFailed) << text;
    EXPECT_FALSE(Get(kProducts, "bad").has_value()) << text;
  }
  EXPECT_EQ(CountAll(kProducts), 7);
}

TEST_P(StoreConformanceTest, FindOneByUniqueIndexedAndUnindexedField) {
  ASSERT_TRUE(IsOk(Insert(kProducts, "p1", Product("SKU-1", "books", 5))));
  ASSERT_TRUE(IsOk(Insert(kProducts, "p2", Product("SKU-2", "toys", 7))));
  ASSERT_TRUE(IsOk(Insert(kCounters, "c1", {{"owner", "alice"}, {"value", 1}})));
  ASSERT_TRUE(IsOk(Read([](ReadTransaction& tx) -> Result<void> {
    auto by_sku = tx.FindOne(kProducts, "sku", "SKU-2");
    if (!by_sku) return std::move(by_sku).error();
    EXPECT_TRUE(by_sku->has_value() && GetString(**by_sku, "category") == "toys");
    auto by_category = tx.FindOne(kProducts, "category", "books");
    if (!by_category) return std::move(by_category).error();
    EXPECT_TRUE(by_category->has_value() && GetString(**by_category, "sku") == "SKU-1");
    auto unindexed = tx.FindOne(kCounters, "owner", "alice");
    if (!unindexed) return std::move(unindexed).error();
    EXPECT_TRUE(unindexed->has_value());
    auto missing = tx.FindOne(kProducts, "sku", "SKU-9");
    if (!missing) return std::move(missing).error();
    EXPECT_FALSE(missing->has_value());
    return Ok();
  })));
}

TEST_P(StoreConformanceTest, FindFiltersWithEqGteLteOnIndexedAndUnindexedFields) {
  // created_at is indexed; "region" is not (the filter must still work).
  const std::vector<std::tuple<std::string, std::string, std::string, std::string>> rows = {
      {"o1", "NEW", "2026-01-01T00:00:00Z", "eu"},  {"o2", "PAID", "2026-01-02T00:00:00Z", "eu"},
      {"o3", "NEW", "2026-01-03T00:00:00Z", "us"},  {"o4", "NEW", "2026-01-04T00:00:00Z", "eu"},
      {"o5", "PAID", "2026-01-05T00:00:00Z", "us"},
  };
  for (const auto& [id, status, created_at, region] : rows) {
    ASSERT_TRUE(IsOk(
        Insert(kOrders, id,
               {{"id", id}, {"status", status}, {"created_at", created_at}, {"region", region}})));
  }
  using Op = FieldFilter::Op;
  auto query = [](std::vector<FieldFilter> filters) {
    FindQuery q;
    q.filters = std::move(filters);
    q.newest_first = false;
    return q;
  };
  auto page = Find(kOrders, query({{"status", Op::kEq, "NEW"}}));
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"o1", "o3", "o4"}));
  EXPECT_EQ(page.total, 3);

  page = Find(kOrders, query({{"created_at", Op::kGte, "2026-01-03T00:00:00Z"}}));
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"o3", "o4", "o5"}));

  page = Find(kOrders, query({{"created_at", Op::kLte, "2026-01-02T00:00:00Z"}}));
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"o1", "o2"}));

  page = Find(kOrders, query({{"status", Op::kEq, "NEW"},
                              {"created_at", Op::kGte, "2026-01-02T00:00:00Z"},
                              {"created_at", Op::kLte, "2026-01-03T23:59:59Z"}}));
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"o3"}));
  EXPECT_EQ(page.total, 1);

  page = Find(kOrders, query({{"region", Op::kEq, "eu"}, {"status", Op::kEq, "NEW"}}));
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"o1", "o4"}));

  page = Find(kOrders, query({{"status", Op::kEq, "SHIPPED"}}));
  EXPECT_TRUE(page.docs.empty());
  EXPECT_EQ(page.total, 0);

  FindQuery uncounted = query({{"status", Op::kEq, "NEW"}});
  uncounted.count_total = false;
  uncounted.limit = 2;
  page = Find(kOrders, uncounted);
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"o1", "o3"}));
  EXPECT_EQ(page.total, -1) << "not counted when not asked";

  int64_t count = -1;
  ASSERT_TRUE(IsOk(Read([&](ReadTransaction& tx) -> Result<void> {
    const std::vector<FieldFilter> filters = {{"region", Op::kEq, "us"},
                                              {"created_at", Op::kGte, "2026-01-04T00:00:00Z"}};
    auto counted = tx.Count(kOrders, filters);
    if (!counted) return std::move(counted).error();
    count = *counted;
    return Ok();
  })));
  EXPECT_EQ(count, 1);
}

TEST_P(StoreConformanceTest, FindOrdersByIdNewestFirstWithLimitOffsetAndTotal) {
  FakeClock clock;
  UlidGenerator ids(clock);
  std::vector<std::string> created;
  for (int i = 0; i < 12; ++i) {
    created.push_back(ids.Next());
    clock.Advance(std::chrono::milliseconds(i % 3 == 0 ? 0 : 5));  // some share a millisecond
  }
  // Inserted out of order: ordering must come from the ids, not from insertion.
  std::vector<std::string> shuffled = created;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(42));
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    for (const auto& id : shuffled) {
      if (auto inserted = tx.Insert(kOrders, id, {{"id", id}, {"status", "NEW"}}); !inserted) {
        return inserted;
      }
    }
    return tx.Insert(kOrders, "other", {{"id", "other"}, {"status", "PAID"}});
  })));
  std::vector<std::string> newest_first(created.rbegin(), created.rend());

  FindQuery query;
  query.filters = {{"status", FieldFilter::Op::kEq, "NEW"}};
  query.limit = 5;
  auto page = Find(kOrders, query);
  EXPECT_EQ(page.total, 12);
  EXPECT_EQ(Ids(page), std::vector<std::string>(newest_first.begin(), newest_first.begin() + 5));

  query.offset = 10;
  page = Find(kOrders, query);
  EXPECT_EQ(page.total, 12);
  EXPECT_EQ(Ids(page), std::vector<std::string>(newest_first.begin() + 10, newest_first.end()));

  query.offset = 3;
  query.limit = 4;
  query.newest_first = false;
  page = Find(kOrders, query);
  EXPECT_EQ(Ids(page), std::vector<std::string>(created.begin() + 3, created.begin() + 7));

  query.offset = 50;
  page = Find(kOrders, query);
  EXPECT_TRUE(page.docs.empty());
  EXPECT_EQ(page.total, 12);
}

TEST_P(StoreConformanceTest, RemoveFirstRemovesLowestIdsMatchingTheFilters) {
  FakeClock clock;
  UlidGenerator ids(clock);
  std::vector<std::string> created;
  for (int i = 0; i < 10; ++i) {
    created.push_back(ids.Next());
    clock.Advance(std::chrono::milliseconds(i % 2 == 0 ? 0 : 3));
  }
  std::vector<std::string> shuffled = created;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    for (const auto& id : shuffled) {
      // Every third order is PAID: the filter must skip those, whatever their ids.
      const size_t position =
          static_cast<size_t>(std::find(created.begin(), created.end(), id) - created.begin());
      const char* status = position % 3 == 0 ? "PAID" : "NEW";
      if (auto inserted = tx.Insert(kOrders, id, {{"id", id}, {"status", status}}); !inserted) {
        return inserted;
      }
    }
    return Ok();
  })));
  const std::vector<FieldFilter> only_new = {{"status", FieldFilter::Op::kEq, "NEW"}};
  int64_t removed = -1;
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    auto n = tx.RemoveFirst(kOrders, only_new, 3);
    if (!n) return std::move(n).error();
    removed = *n;
    return Ok();
  })));
  EXPECT_EQ(removed, 3);
  // NEW ones were at positions 1, 2, 4, 5, 7, 8: the first three (1, 2, 4) are gone.
  FindQuery all;
  all.limit = 100;
  all.newest_first = false;
  std::vector<std::string> expected;
  for (size_t i = 0; i < created.size(); ++i) {
    if (i != 1 && i != 2 && i != 4) expected.push_back(created[i]);
  }
  EXPECT_EQ(Ids(Find(kOrders, all)), expected);

  // More than remain: removes what matches and says how many; 0 and negative limits remove
  // nothing; an unknown collection is an error.
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    auto none = tx.RemoveFirst(kOrders, only_new, 0);
    if (!none) return std::move(none).error();
    EXPECT_EQ(*none, 0);
    auto rest = tx.RemoveFirst(kOrders, only_new, 100);
    if (!rest) return std::move(rest).error();
    removed = *rest;
    EXPECT_FALSE(tx.RemoveFirst("no_such_collection", {}, 1));
    return Ok();
  })));
  EXPECT_EQ(removed, 3);
  EXPECT_EQ(CountAll(kOrders), 4);

  // Inside a failed write it is rolled back with everything else.
  auto failed = Write([&](Transaction& tx) -> Result<void> {
    auto n = tx.RemoveFirst(kOrders, {}, 100);
    if (!n) return std::move(n).error();
    return ValidationError("changed my mind");
  });
  EXPECT_FALSE(failed);
  EXPECT_EQ(CountAll(kOrders), 4);
}

TEST_P(StoreConformanceTest, ClearEmptiesOneCollectionWholeAndSaysHowMany) {
  auto product = [](int i) {
    return json::object{{"sku", "SKU-" + std::to_string(i)}, {"category", "books"}};
  };
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    for (int i = 0; i < 5; ++i) {
      if (auto r = tx.Insert(kProducts, "p-" + std::to_string(i), product(i)); !r) return r;
    }
    return tx.Insert(kOrders, "o-1", {{"id", "o-1"}, {"status", "NEW"}});
  })));
  // Inside a failed write it is rolled back with everything else.
  EXPECT_FALSE(Write([&](Transaction& tx) -> Result<void> {
    auto n = tx.Clear(kProducts);
    if (!n) return std::move(n).error();
    return ValidationError("changed my mind");
  }));
  EXPECT_EQ(CountAll(kProducts), 5);

  int64_t cleared = -1;
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    auto n = tx.Clear(kProducts);
    if (!n) return std::move(n).error();
    cleared = *n;
    EXPECT_FALSE(tx.Clear("no_such_collection"));
    return Ok();
  })));
  EXPECT_EQ(cleared, 5);
  EXPECT_EQ(CountAll(kProducts), 0);
  EXPECT_EQ(CountAll(kOrders), 1) << "only the collection named is emptied";

  // Its indexes are emptied with it: the same ids and unique values go in again, and are found.
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    if (auto r = tx.Insert(kProducts, "p-1", product(1)); !r) return r;
    auto n = tx.Clear(kCounters);  // an empty collection: nothing to remove
    if (!n) return std::move(n).error();
    EXPECT_EQ(*n, 0);
    return Ok();
  })));
  ASSERT_TRUE(IsOk(Read([&](ReadTransaction& tx) -> Result<void> {
    auto by_sku = tx.FindOne(kProducts, "sku", "SKU-1");
    EXPECT_TRUE(by_sku && *by_sku);
    auto gone = tx.FindOne(kProducts, "sku", "SKU-2");
    EXPECT_TRUE(gone && !*gone);
    return Ok();
  })));
}

TEST_P(StoreConformanceTest, RemoveFirstWithARangeFilterTakesLowestIdsAmongTheMatches) {
  // created_at runs against the ids, so an answer in the field's order would be wrong; and
  // a filter nothing matches removes nothing (retention's usual age pass).
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    for (int i = 0; i < 8; ++i) {
      const std::string id = "id-" + std::to_string(i);
      const std::string at = "2026-01-0" + std::to_string(8 - i);
      if (auto inserted =
              tx.Insert(kOrders, id, {{"id", id}, {"status", "NEW"}, {"created_at", at}});
          !inserted) {
        return inserted;
      }
    }
    return Ok();
  })));
  auto remove_first = [&](const std::string& op_value, FieldFilter::Op op, int64_t limit) {
    int64_t removed = -1;
    const std::vector<FieldFilter> filters = {{"created_at", op, op_value}};
    EXPECT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
      auto n = tx.RemoveFirst(kOrders, filters, limit);
      if (!n) return std::move(n).error();
      removed = *n;
      return Ok();
    })));
    return removed;
  };
  EXPECT_EQ(remove_first("2026-01-00", FieldFilter::Op::kLte, 5), 0);
  // created_at <= 2026-01-04 matches id-4 .. id-7; the two lowest ids among them go.
  EXPECT_EQ(remove_first("2026-01-04", FieldFilter::Op::kLte, 2), 2);
  FindQuery all;
  all.limit = 100;
  all.newest_first = false;
  EXPECT_EQ(Ids(Find(kOrders, all)),
            (std::vector<std::string>{"id-0", "id-1", "id-2", "id-3", "id-6", "id-7"}));
  // created_at >= 2026-01-06 matches id-0 .. id-2.
  EXPECT_EQ(remove_first("2026-01-06", FieldFilter::Op::kGte, 10), 3);
  EXPECT_EQ(Ids(Find(kOrders, all)), (std::vector<std::string>{"id-3", "id-6", "id-7"}));
}

TEST_P(StoreConformanceTest, FailedWriteRollsBackAllItsEffects) {
  ASSERT_TRUE(IsOk(Insert(kProducts, "keep", Product("SKU-K", "books", 5))));
  ASSERT_TRUE(IsOk(Insert(kProducts, "gone", Product("SKU-G", "books", 5))));
  const Envelope event = Event("ORDER_CREATED", 1);
  auto write = Write([&](Transaction& tx) -> Result<void> {
    EXPECT_TRUE(IsOk(tx.Insert(kProducts, "new", Product("SKU-N", "toys", 1))));
    EXPECT_TRUE(IsOk(tx.Replace(kProducts, "keep", Product("SKU-K", "books", 0))));
    EXPECT_TRUE(IsOk(tx.Remove(kProducts, "gone")));
    EXPECT_TRUE(IsOk(tx.AppendOutbox(event)));
    auto applied = tx.MarkApplied("inventory", "msg-1");
    EXPECT_TRUE(applied.ok() && *applied);
    return ValidationError("changed my mind");
  });
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().code, ErrorCode::kValidationFailed);
  EXPECT_EQ(write.error().message, "changed my mind");

  EXPECT_FALSE(Get(kProducts, "new").has_value());
  EXPECT_EQ(GetInt(Doc(kProducts, "keep"), "stock"), 5);
  EXPECT_TRUE(Get(kProducts, "gone").has_value());
  EXPECT_TRUE(PendingMessageIds().empty());
  bool applied_again = false;
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    auto applied = tx.MarkApplied("inventory", "msg-1");
    if (!applied) return std::move(applied).error();
    applied_again = *applied;
    return Ok();
  })));
  EXPECT_TRUE(applied_again) << "the inbox mark of the failed write survived";
}

TEST_P(StoreConformanceTest, ThrowingWriteRollsBackAndIsInternalError) {
  auto write = Write([](Transaction& tx) -> Result<void> {
    EXPECT_TRUE(IsOk(tx.Insert(kProducts, "p1", Product("SKU-1", "books", 5))));
    EXPECT_TRUE(IsOk(tx.AppendOutbox(Event("ORDER_CREATED", 1))));
    throw std::runtime_error("boom");
  });
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().code, ErrorCode::kInternal);
  EXPECT_FALSE(Get(kProducts, "p1").has_value());
  EXPECT_TRUE(PendingMessageIds().empty());
  // The store keeps working.
  EXPECT_TRUE(IsOk(Insert(kProducts, "p1", Product("SKU-1", "books", 5))));
}

TEST_P(StoreConformanceTest, ReadFnErrorReachesDone) {
  auto read = Read([](ReadTransaction&) -> Result<void> { return NotFoundError("nothing here"); });
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(read.error().message, "nothing here");
}

TEST_P(StoreConformanceTest, ConcurrentWritesWithFailuresKeepExactlyTheSuccessfulOnes) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 60;
  struct Outcome {
    std::string id;
    bool should_fail = false;
    std::optional<Result<void>> result;
  };
  std::vector<Outcome> outcomes(kThreads * kPerThread);
  std::mutex outcomes_mutex;
  CompletionCounter completed;
  std::atomic<int> done_calls{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i;
        Outcome& outcome = outcomes[n];
        outcome.id = "o" + std::to_string(n);
        outcome.should_fail = n % 3 == 0;
        const bool conflict = n % 7 == 0;  // some fail on a real unique clash instead
        store().Write(
            [&outcome, n, conflict](Transaction& tx) -> Result<void> {
              if (auto in = tx.Insert(kOrders, outcome.id, {{"id", outcome.id}, {"n", n}}); !in) {
                return in;
              }
              if (auto out = tx.AppendOutbox(Event("ORDER_CREATED", n)); !out) return out;
              if (auto mark = tx.MarkApplied("orders", outcome.id); !mark) {
                return std::move(mark).error();
              }
              if (!outcome.should_fail) return Ok();
              if (conflict) return tx.Insert(kOrders, outcome.id, {{"again", true}});
              return ValidationError("planned failure " + std::to_string(n));
            },
            [&, n](Result<void> result) {
              done_calls.fetch_add(1);
              {
                std::lock_guard lock(outcomes_mutex);
                outcomes[n].result = std::move(result);
              }
              completed.Done();
            });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(completed.WaitFor(kThreads * kPerThread));
  EXPECT_EQ(done_calls.load(), kThreads * kPerThread) << "done must be called exactly once";

  int successes = 0;
  std::set<std::string> expected_ids;
  {
    std::lock_guard lock(outcomes_mutex);
    for (const auto& outcome : outcomes) {
      ASSERT_TRUE(outcome.result.has_value());
      EXPECT_EQ(outcome.result->ok(), !outcome.should_fail) << outcome.id;
      if (!outcome.should_fail) {
        ++successes;
        expected_ids.insert(outcome.id);
      }
    }
  }
  EXPECT_EQ(CountAll(kOrders), successes);
  FindQuery all;
  all.limit = 1'000'000;
  auto page = Find(kOrders, all);
  auto found = Ids(page);
  EXPECT_EQ(std::set<std::string>(found.begin(), found.end()), expected_ids);
  EXPECT_EQ(PendingMessageIds().size(), static_cast<size_t>(successes));
  // Inbox marks of failed writes were rolled back: marking them now succeeds.
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    for (const auto& outcome : outcomes) {
      auto mark = tx.MarkApplied("orders", outcome.id);
      if (!mark) return std::move(mark).error();
      EXPECT_EQ(*mark, outcome.should_fail) << outcome.id;
    }
    return Ok();
  })));
}

TEST_P(StoreConformanceTest, MarkAppliedDedupesPerConsumer) {
  std::vector<bool> marks;
  auto mark = [&](Transaction& tx, std::string_view consumer, std::string_view id) -> Result<void> {
    auto applied = tx.MarkApplied(consumer, id);
    if (!applied) return std::move(applied).error();
    marks.push_back(*applied);
    return Ok();
  };
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) { return mark(tx, "inventory", "m1"); })));
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) { return mark(tx, "inventory", "m1"); })));
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) { return mark(tx, "payments", "m1"); })));
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    if (auto first = mark(tx, "inventory", "m2"); !first) return first;
    return mark(tx, "inventory", "m2");  // twice in one transaction
  })));
  EXPECT_EQ(marks, (std::vector<bool>{true, false, true, true, false}));
}

TEST_P(StoreConformanceTest, PruneInboxRemovesOnlyMarksAppliedBeforeTheCutoff) {
  using Mark = std::pair<std::string, std::string>;  // (consumer, message id)
  auto mark_all = [&](const std::vector<Mark>& marks) {
    std::vector<bool> fresh;
    auto written = Write([&](Transaction& tx) -> Result<void> {
      fresh.clear();
      for (const auto& [consumer, id] : marks) {
        auto applied = tx.MarkApplied(consumer, id);
        if (!applied) return std::move(applied).error();
        fresh.push_back(*applied);
      }
      return Ok();
    });
    EXPECT_TRUE(IsOk(written));
    return fresh;
  };
  // ULID ids (as this system's messages have) in two consumers, and ids that are not ULIDs:
  // the dead-letter manager's keys and other publishers' ids, sorting above and below ULIDs.
  const std::vector<Mark> old_marks = {
      {"inventory", NewId()}, {"inventory", NewId()},
      {"payments", NewId()},  {"dlq", "orders.events.dlq|" + NewId() + "|boom"},
      {"payments", "m-1"},    {"payments", "0-low"}};
  EXPECT_EQ(mark_all(old_marks), std::vector<bool>(old_marks.size(), true));
  const Mark made_before_applied_after = {"inventory", NewId()};
  const TimePoint marked = std::chrono::system_clock::now();
  ASSERT_TRUE(WaitUntil(
      [&] { return std::chrono::system_clock::now() > marked + std::chrono::milliseconds(2); }));
  const TimePoint cutoff = std::chrono::system_clock::now();
  const std::vector<Mark> new_marks = {{"inventory", NewId()},
                                       {"dlq", "orders.events.dlq|" + NewId() + "|boom"},
                                       {"payments", "m-2"},
                                       {"payments", "0-lower"},
                                       made_before_applied_after};
  EXPECT_EQ(mark_all(new_marks), std::vector<bool>(new_marks.size(), true));

  // At most `limit` per call, until none is left.
  std::vector<int64_t> removed;
  for (const int64_t limit : {4, 100, 100}) {
    ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
      auto pruned = tx.PruneInbox(cutoff, limit);
      if (!pruned) return std::move(pruned).error();
      removed.push_back(*pruned);
      return Ok();
    })));
  }
  EXPECT_EQ(removed, (std::vector<int64_t>{4, 2, 0}));
  // The pruned marks are gone (marking them again is fresh), the others still dedupe.
  EXPECT_EQ(mark_all(old_marks), std::vector<bool>(old_marks.size(), true));
  EXPECT_EQ(mark_all(new_marks), std::vector<bool>(new_marks.size(), false));
}

TEST_P(StoreConformanceTest, OutboxHoldsCommittedEventsOnlyInAppendOrder) {
  const Envelope first = Event("ORDER_CREATED", 1);
  const Envelope second = Event("PAYMENT_REQUESTED", 2);
  const Envelope rolled_back = Event("ORDER_FAILED", 3);
  const Envelope third = Event("ORDER_CONFIRMED", 4);
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    if (auto a = tx.AppendOutbox(first); !a) return a;
    return tx.AppendOutbox(second);
  })));
  EXPECT_FALSE(Write([&](Transaction& tx) -> Result<void> {
                 EXPECT_TRUE(IsOk(tx.AppendOutbox(rolled_back)));
                 return ConflictError("no");
               }).ok());
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) { return tx.AppendOutbox(third); })));

  auto pending = store().PendingOutbox(100);
  ASSERT_TRUE(IsOk(pending));
  ASSERT_EQ(pending->size(), 3u);
  const std::vector<const Envelope*> expected = {&first, &second, &third};
  for (size_t i = 0; i < 3; ++i) {
    const Envelope& got = (*pending)[i].event;
    EXPECT_EQ(got.metadata.message_id, expected[i]->metadata.message_id);
    EXPECT_EQ(got.event_type, expected[i]->event_type);
    EXPECT_EQ(got.data, expected[i]->data);
    EXPECT_EQ(got.metadata.correlation_id, "corr-1");
    EXPECT_EQ(ToUnixMillis(got.metadata.timestamp), ToUnixMillis(expected[i]->metadata.timestamp));
    if (i > 0) {
      EXPECT_LT((*pending)[i - 1].sequence, (*pending)[i].sequence);
    }
  }
  auto limited = store().PendingOutbox(2);
  ASSERT_TRUE(IsOk(limited));
  ASSERT_EQ(limited->size(), 2u);
  EXPECT_EQ((*limited)[1].event.metadata.message_id, second.metadata.message_id);
}

TEST_P(StoreConformanceTest, MarkOutboxSentRemovesRowsFromPending) {
  std::vector<Envelope> events;
  for (int i = 0; i < 5; ++i) events.push_back(Event("ORDER_CREATED", i));
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    for (const auto& event : events) {
      if (auto appended = tx.AppendOutbox(event); !appended) return appended;
    }
    return Ok();
  })));
  auto pending = store().PendingOutbox(3);
  ASSERT_TRUE(IsOk(pending));
  ASSERT_EQ(pending->size(), 3u);
  std::vector<int64_t> sent = {(*pending)[0].sequence, (*pending)[2].sequence};
  ASSERT_TRUE(IsOk(store().MarkOutboxSent(sent)));
  EXPECT_EQ(PendingMessageIds(),
            (std::vector<std::string>{events[1].metadata.message_id, events[3].metadata.message_id,
                                      events[4].metadata.message_id}));
  // Idempotent, and an empty list is fine.
  EXPECT_TRUE(IsOk(store().MarkOutboxSent(sent)));
  EXPECT_TRUE(IsOk(store().MarkOutboxSent({})));
  EXPECT_EQ(PendingMessageIds().size(), 3u);
}

// A sequence is the relay's handle on an event until it marks it sent, and a mark can come late
// or twice (a retried batch); were a sent event's sequence handed out again, that mark would
// remove a new event unsent.
TEST_P(StoreConformanceTest, SentSequencesAreNeverHandedOutAgain) {
  auto append = [&](int n) {
    ASSERT_TRUE(
        IsOk(Write([&](Transaction& tx) { return tx.AppendOutbox(Event("ORDER_CREATED", n)); })));
  };
  auto pending_sequences = [&] {
    std::vector<int64_t> sequences;
    auto pending = store().PendingOutbox(100);
    EXPECT_TRUE(IsOk(pending));
    if (pending) {
      for (const auto& record : *pending) sequences.push_back(record.sequence);
    }
    return sequences;
  };
  std::vector<int64_t> sent;
  for (int round = 0; round < 3; ++round) {
    append(round * 2);
    append(round * 2 + 1);
    const auto sequences = pending_sequences();
    ASSERT_EQ(sequences.size(), 2u);
    for (const int64_t sequence : sequences) {
      for (const int64_t old : sent) EXPECT_GT(sequence, old);
    }
    // The highest first, then the other: each may be the last row of the outbox.
    ASSERT_TRUE(IsOk(store().MarkOutboxSent(std::vector<int64_t>{sequences[1]})));
    ASSERT_TRUE(IsOk(store().MarkOutboxSent(std::vector<int64_t>{sequences[0]})));
    sent.insert(sent.end(), sequences.begin(), sequences.end());
    EXPECT_TRUE(pending_sequences().empty());
    if (round == 1) Reopen();
  }
  // Late marks of every sent sequence leave a new event pending.
  append(100);
  const auto fresh = pending_sequences();
  ASSERT_EQ(fresh.size(), 1u);
  ASSERT_TRUE(IsOk(store().MarkOutboxSent(sent)));
  EXPECT_EQ(pending_sequences(), fresh);
}

TEST_P(StoreConformanceTest, OutboxInboxAndDocumentsSurviveReopen) {
  const Envelope event = Event("ORDER_CREATED", 7);
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    if (auto in = tx.Insert(kProducts, "p1", Product("SKU-1", "books", 5)); !in) return in;
    if (auto mark = tx.MarkApplied("inventory", "m1"); !mark) return std::move(mark).error();
    return tx.AppendOutbox(event);
  })));
  Reopen();
  EXPECT_EQ(PendingMessageIds(), std::vector<std::string>{event.metadata.message_id});
  EXPECT_EQ(Get(kProducts, "p1"), Product("SKU-1", "books", 5));
  bool applied = true;
  ASSERT_TRUE(IsOk(Write([&](Transaction& tx) -> Result<void> {
    auto mark = tx.MarkApplied("inventory", "m1");
    if (!mark) return std::move(mark).error();
    applied = *mark;
    return Ok();
  })));
  EXPECT_FALSE(applied);
  // The unique index still holds after reopening.
  auto clash = Insert(kProducts, "p2", Product("SKU-1", "books", 1));
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, ErrorCode::kConflict);
}

TEST_P(StoreConformanceTest, OutboxListenerRunsAfterCommitsWithEvents) {
  std::mutex mutex;
  std::vector<std::vector<OutboxRecord>> calls;
  store().SetOutboxListener([&](std::vector<OutboxRecord> committed) {
    std::lock_guard lock(mutex);
    calls.push_back(std::move(committed));
  });
  // Rolled back: not reported.
  EXPECT_FALSE(Write([](Transaction& tx) -> Result<void> {
                 EXPECT_TRUE(IsOk(tx.AppendOutbox(Event("ORDER_FAILED", 0))));
                 return ConflictError("no");
               }).ok());
  ASSERT_TRUE(IsOk(Write([](Transaction& tx) -> Result<void> {
    if (auto a = tx.AppendOutbox(Event("ORDER_CREATED", 1)); !a) return a;
    return tx.AppendOutbox(Event("PAYMENT_REQUESTED", 2));
  })));
  EXPECT_TRUE(WaitUntil([&] {
    std::lock_guard lock(mutex);
    return !calls.empty();
  }));
  auto pending = store().PendingOutbox(10);
  ASSERT_TRUE(IsOk(pending));
  ASSERT_EQ(pending->size(), 2u);
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(calls.size(), 1u);
    // A store that hands the committed events over hands exactly those, as they are read back.
    if (!calls[0].empty()) {
      ASSERT_EQ(calls[0].size(), 2u);
      for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(calls[0][i].sequence, (*pending)[i].sequence);
        EXPECT_EQ(calls[0][i].event.metadata.message_id, (*pending)[i].event.metadata.message_id);
        EXPECT_EQ(calls[0][i].event.data, (*pending)[i].event.data);
      }
    }
  }
  // The listener is cleared before `calls` goes out of scope.
  store().SetOutboxListener({});
}

TEST_P(StoreConformanceTest, ConcurrentReadModifyWriteIncrementsAreExact) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 500;
  ASSERT_TRUE(IsOk(Insert(kCounters, "c", {{"value", 0}})));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto write = Write([](Transaction& tx) -> Result<void> {
          auto doc = tx.Get(kCounters, "c");
          if (!doc) return std::move(doc).error();
          if (!doc->has_value()) return NotFoundError("counter");
          json::object next = **doc;
          next["value"] = GetInt(next, "value") + 1;
          return tx.Replace(kCounters, "c", next);
        });
        if (!write.ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(GetInt(Doc(kCounters, "c"), "value"), kThreads * kIncrements);
}

TEST_P(StoreConformanceTest, UnknownCollectionIsAnErrorNotACrash) {
  auto read = Read([](ReadTransaction& tx) -> Result<void> {
    auto got = tx.Get("no_such_collection", "x");
    if (!got) return std::move(got).error();
    return Ok();
  });
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kInternal);
  auto write = Write([](Transaction& tx) { return tx.Insert("no_such_collection", "x", {}); });
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().code, ErrorCode::kInternal);
  auto hostile =
      Write([](Transaction& tx) { return tx.Insert("x\"; DROP TABLE products; --", "x", {}); });
  EXPECT_FALSE(hostile.ok());
  EXPECT_TRUE(IsOk(Insert(kProducts, "p1", Product("SKU-1", "books", 5))));
}

TEST_P(StoreConformanceTest, StatusReportsConnected) {
  const StoreStatus status = store().Status();
  EXPECT_TRUE(status.connected);
  EXPECT_FALSE(status.backend.empty());
}

}  // namespace shopflow::testing
