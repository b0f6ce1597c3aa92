// End-to-end tests of the /api/inventory/products endpoints over real HTTP.
#include <gmock/gmock.h>

#include "tests/e2e/app_fixture.hpp"

namespace shopflow::testing {
namespace {
using ::testing::Contains;
using ::testing::UnorderedElementsAre;

class CatalogApi : public AppTest {
 protected:
  int64_t TotalProducts() {
    auto r = Get("/api/inventory/products");
    EXPECT_EQ(r.status, 200);
    return GetInt(r.Json().as_object(), "total", -1);
  }
};

TEST_F(CatalogApi, CreatesAndReadsAProduct) {
  auto r = Post("/api/inventory/products",
                R"({"name":"Keyboard","sku":"KB-1","price":129.9,"stock":10,"minStock":2,
                    "category":"peripherals","description":"mechanical"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto p = r.Json().as_object();
  const std::string id = GetString(p, "productId");
  EXPECT_TRUE(IsWellFormedId(id));
  EXPECT_EQ(ToJsonText(p.at("price")), "129.9");
  EXPECT_EQ(GetInt(p, "stock"), 10);
  EXPECT_EQ(GetInt(p, "reserved"), 0);
  EXPECT_EQ(GetInt(p, "available"), 10);
  EXPECT_EQ(GetInt(p, "minStock"), 2);
  EXPECT_EQ(GetString(p, "category"), "peripherals");
  EXPECT_EQ(GetString(p, "sku"), "KB-1");
  EXPECT_TRUE(ParseRfc3339(GetString(p, "createdAt")));

  auto got = Get("/api/inventory/products/" + id);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.Json(), r.Json());
}

TEST_F(CatalogApi, ListsWithFiltersAndPagination) {
  CreateProduct("A-1", 1, 1, "books");
  CreateProduct("A-2", 2, 2, "games");
  CreateProduct("A-3", 3, 3, "books");

  auto all = Get("/api/inventory/products").Json().as_object();
  EXPECT_EQ(GetInt(all, "total"), 3);
  EXPECT_EQ(GetInt(all, "limit"), 50);
  EXPECT_EQ(GetInt(all, "offset"), 0);
  // Newest first.
  EXPECT_EQ(GetString(all.at("data").as_array()[0].as_object(), "sku"), "A-3");

  auto books = Get("/api/inventory/products?category=books").Json().as_object();
  EXPECT_EQ(GetInt(books, "total"), 2);
  std::vector<std::string> skus;
  for (const auto& p : books.at("data").as_array()) skus.push_back(GetString(p.as_object(), "sku"));
  EXPECT_THAT(skus, UnorderedElementsAre("A-1", "A-3"));

  auto by_sku = Get("/api/inventory/products?sku=A-2").Json().as_object();
  ASSERT_EQ(GetInt(by_sku, "total"), 1);

  auto page = Get("/api/inventory/products?limit=1&offset=1").Json().as_object();
  EXPECT_EQ(GetInt(page, "total"), 3);
  ASSERT_EQ(page.at("data").as_array().size(), 1u);
  EXPECT_EQ(GetString(page.at("data").as_array()[0].as_object(), "sku"), "A-2");

  for (const char* bad : {"limit=501", "limit=0", "limit=x", "offset=-1"}) {
    auto r = Get(std::string("/api/inventory/products?") + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(ErrorCodeOf(r), "validation_failed") << bad;
  }
}

TEST_F(CatalogApi, DuplicateSkuIsAConflictAndWritesNothing) {
  CreateProduct("DUP", 5, 1);
  auto r = Post("/api/inventory/products", R"({"name":"Other","sku":"DUP","price":1,"stock":1})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ErrorCodeOf(r), "conflict");
  EXPECT_EQ(TotalProducts(), 1);
}

TEST_F(CatalogApi, RejectsBadProductsNamingTheFields) {
  struct Case {
    const char* body;
    const char* field;
  };
  const Case cases[] = {
      {R"({"sku":"S","price":1,"stock":1})", "name"},
      {R"({"name":"N","price":1,"stock":1})", "sku"},
      {R"({"name":"N","sku":"S","stock":1})", "price"},
      {R"({"name":"N","sku":"S","price":1})", "stock"},
      {R"({"name":5,"sku":"S","price":1,"stock":1})", "name"},
      {R"({"name":"N","sku":"S","price":"1","stock":1})", "price"},
      {R"({"name":"N","sku":"S","price":-1,"stock":1})", "price"},
      {R"({"name":"N","sku":"S","price":1.999,"stock":1})", "price"},
      {R"({"name":"N","sku":"S","price":1,"stock":-1})", "stock"},
      {R"({"name":"N","sku":"S","price":1,"stock":1.5})", "stock"},
      {R"({"name":"N","sku":"S","price":1,"stock":1,"minStock":-2})", "minStock"},
      {R"({"name":"N","sku":"S","price":1,"stock":1,"color":"red"})", "color"},
      {R"({"name":"N","sku":"S","price":1,"stock":1,"reserved":3})", "reserved"},
      {R"({"name":"N","sku":"S","price":1,"stock":1,"productId":"x"})", "productId"},
  };
  for (const auto& c : cases) {
    auto r = Post("/api/inventory/products", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(ErrorCodeOf(r), "validation_failed") << c.body;
    EXPECT_THAT(ErrorFieldsOf(r), Contains(c.field)) << c.body;
  }
  EXPECT_EQ(Post("/api/inventory/products", "{\"name\":").status, 400);
  EXPECT_EQ(ErrorCodeOf(Post("/api/inventory/products", "{\"name\":")), "malformed_json");
  EXPECT_EQ(Post("/api/inventory/products", "[1,2]").status, 400);
  auto wrong_type = client_->Request("POST", "/api/inventory/products", "name=x",
                                     {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(wrong_type.status, 415);
  EXPECT_EQ(ErrorCodeOf(wrong_type), "unsupported_media_type");
  EXPECT_EQ(TotalProducts(), 0);
}

TEST_F(CatalogApi, UpdatesAllowedFieldsOnly) {
  auto p = CreateProduct("U-1", 10, 5);
  const std::string id = GetString(p, "productId");
  auto r = Put("/api/inventory/products/" + id, R"({"name":"Renamed","price":12.5,"minStock":3})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto u = r.Json().as_object();
  EXPECT_EQ(GetString(u, "name"), "Renamed");
  EXPECT_EQ(ToJsonText(u.at("price")), "12.5");
  EXPECT_EQ(GetInt(u, "minStock"), 3);
  EXPECT_EQ(GetInt(u, "stock"), 5);
  EXPECT_EQ(GetString(u, "createdAt"), GetString(p, "createdAt"));

  for (const char* bad : {R"({"stock":100})", R"({"sku":"X"})", R"({"productId":"X"})",
                          R"({"colour":"red"})", R"({})", R"({"price":-3})"}) {
    auto b = Put("/api/inventory/products/" + id, bad);
    EXPECT_EQ(b.status, 400) << bad;
    EXPECT_EQ(ErrorCodeOf(b), "validation_failed") << bad;
  }
  EXPECT_EQ(GetString(Get("/api/inventory/products/" + id).Json().as_object(), "name"), "Renamed");
  EXPECT_EQ(Put("/api/inventory/products/01ARZ3NDEKTSV4RRFFQ69G5FAV", R"({"name":"x"})").status,
            404);
}

TEST_F(CatalogApi, UnknownProductIsNotFound) {
  auto r = Get("/api/inventory/products/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCodeOf(r), "not_found");
}

TEST_F(CatalogApi, DataSurvivesARestart) {
  auto p = CreateProduct("KEEP", 3, 3);
  RestartApp();
  auto r = Get("/api/inventory/products/" + GetString(p, "productId"));
  EXPECT_EQ(r.status, 200);
}

}  // namespace
}  // namespace shopflow::testing
