// A randomized run of many orders over a few products, with declined cards, cancellations,
// stock shortages, restocking and duplicated deliveries; afterwards every order has settled
// and every invariant of EVENTS.md holds. SHOPFLOW_RANDOM_ORDERS sets the order count
// (default 2000) and SHOPFLOW_RANDOM_SEED the seed (printed, so a failure can be replayed).
#include <gmock/gmock.h>

#include <cstdlib>
#include <map>
#include <random>

#include "tests/e2e/app_fixture.hpp"
#include "tests/e2e/saga_books.hpp"
#include "tests/support/duplicating_event_bus.hpp"

namespace shopflow::testing {
namespace {

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}

class SagaInvariants : public AppTest {
 protected:
  void SetUp() override {
    seed_ = static_cast<uint64_t>(EnvInt("SHOPFLOW_RANDOM_SEED", std::random_device{}()));
    std::cout << "SHOPFLOW_RANDOM_SEED=" << seed_ << std::endl;
    AppTest::SetUp();
  }

  void StartApp() override {
    ApplicationHooks hooks;
    hooks.wrap_transport = [this](EventBus& transport) -> std::unique_ptr<EventBus> {
      auto bus = std::make_unique<DuplicatingEventBus>(transport, 0.2, seed_);
      duplicating_ = bus.get();
      return bus;
    };
    StartAppWith(std::move(hooks));
  }

  uint64_t seed_ = 0;
  DuplicatingEventBus* duplicating_ = nullptr;
};

TEST_F(SagaInvariants, EveryOrderSettlesAndTheBooksBalance) {
  const int64_t orders = EnvInt("SHOPFLOW_RANDOM_ORDERS", 2000);
  std::mt19937_64 random(seed_);

  std::vector<ProductBook> products;
  for (int i = 0; i < 4; ++i) {
    const int64_t stock = 150 + 50 * i;
    auto p = CreateProduct("RND-" + std::to_string(i), 3.5 + i, stock);
    products.push_back({GetString(p, "productId"), stock, 0});
  }

  const char* cards[] = {"4000000000000002", "4000000000009995", "4242424242424242"};
  std::vector<std::string> order_ids;
  for (int64_t n = 0; n < orders; ++n) {
    json::array items;
    std::vector<size_t> chosen;
    const int lines = 1 + static_cast<int>(random() % 3);
    for (int l = 0; l < lines; ++l) {
      const size_t which = random() % products.size();
      if (std::find(chosen.begin(), chosen.end(), which) != chosen.end()) continue;
      chosen.push_back(which);
      items.push_back(json::object{{"productId", products[which].id},
                                   {"quantity", 1 + static_cast<int64_t>(random() % 5)}});
    }
    json::object body{{"customerId", "c" + std::to_string(random() % 50)}, {"items", items}};
    const int dice = static_cast<int>(random() % 100);
    if (dice < 15) body["paymentDetails"] = json::object{{"cardNumber", cards[dice % 2]}};
    if (dice >= 15 && dice < 25) body["paymentDetails"] = json::object{{"cardNumber", cards[2]}};
    auto r = Post("/api/orders", ToJsonText(body));
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = GetString(r.Json().as_object(), "orderId");
    order_ids.push_back(id);
    if (random() % 10 == 0) {  // cancel at once, racing the saga: 200 or 409 are both fine
      const int status = Delete("/api/orders/" + id).status;
      ASSERT_TRUE(status == 200 || status == 409) << status;
    }
    if (random() % 100 == 0) {  // a restock now and then
      auto& book = products[random() % products.size()];
      const int64_t qty = 20 + static_cast<int64_t>(random() % 30);
      ASSERT_EQ(Post("/api/inventory/stock/add",
                     ToJsonText(json::object{{"productId", book.id}, {"quantity", qty}}))
                    .status,
                200);
      book.added += qty;
    }
  }

  // Settled: no order pending, nothing reserved (no manual holds in this run), and the stock
  // of every product equals what was put in minus what paid orders took.
  ASSERT_TRUE(WaitFor([&] { return Balanced(*client_, products); }, std::chrono::seconds(120)))
      << "seed " << seed_;
  EXPECT_GT(duplicating_->duplicated(), 0);
  auto by_status = ExpectOrderInvariants(*client_, products);
  int64_t total = 0;
  for (const auto& [status, count] : by_status) total += count;
  EXPECT_EQ(total, orders);
  EXPECT_GT(by_status["paid"], 0);
  EXPECT_GT(by_status["failed"], 0);
  EXPECT_GT(by_status["cancelled"], 0);
  std::cout << "orders: paid " << by_status["paid"] << ", failed " << by_status["failed"]
            << ", cancelled " << by_status["cancelled"] << "; duplicated deliveries "
            << duplicating_->duplicated() << std::endl;
}

}  // namespace
}  // namespace shopflow::testing
