// The served OpenAPI document describes exactly the routes the server has.
#include <gmock/gmock.h>

#include "tests/e2e/app_fixture.hpp"

namespace shopflow::testing {
namespace {

class OpenApi : public AppTest {};

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST_F(OpenApi, ServesTheDocumentAndEveryDocumentedOperationIsRouted) {
  auto r = Get("/api/openapi.json");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.Header("content-type").find("application/json"), std::string::npos);
  auto doc = r.Json().as_object();
  EXPECT_EQ(GetString(doc, "openapi"), "3.1.0");
  const auto& paths = doc.at("paths").as_object();
  EXPECT_GE(paths.size(), 20u);
  for (const auto& [path, ops] : paths) {
    std::string target(path);
    for (size_t open; (open = target.find('{')) != std::string::npos;) {
      target.replace(open, target.find('}', open) - open + 1, "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    }
    for (const auto& [method, op] : ops.as_object()) {
      auto answer = client_->Request(Upper(std::string(method)), target, std::string("{}"),
                                     {{"Content-Type", "application/json"}});
      EXPECT_NE(answer.status, 405) << method << " " << path;
      if (answer.status == 404) {
        // A 404 must come from the handler (no such resource), not from the router.
        EXPECT_EQ(answer.body.find("no resource at"), std::string::npos) << method << " " << path;
      }
    }
  }
}

}  // namespace
}  // namespace shopflow::testing
