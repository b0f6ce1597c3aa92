#include "security/api_keys.hpp"

#include <gtest/gtest.h>

#include "security/crypto.hpp"

namespace shopflow::security {
namespace {

TEST(ApiKeyRing, ParsesPlainAndHashedKeys) {
  const std::string text =
      "# machines\n\noperator prometheus scrape-key-0123456789\r\n"
      "admin deployer sha256:" +
      Sha256Hex("deploy-key-abcdefghij") + "\n";
  auto ring = ApiKeyRing::Parse(text);
  ASSERT_TRUE(ring) << ring.error().message;
  EXPECT_EQ(ring->size(), 2u);
  auto prometheus = ring->Find("scrape-key-0123456789");
  ASSERT_TRUE(prometheus);
  EXPECT_EQ(prometheus->name, "prometheus");
  EXPECT_EQ(prometheus->role, Role::kOperator);
  auto deployer = ring->Find("deploy-key-abcdefghij");
  ASSERT_TRUE(deployer);
  EXPECT_EQ(deployer->role, Role::kAdmin);
  EXPECT_FALSE(ring->Find("scrape-key-012345678"));
  EXPECT_FALSE(ring->Find(""));
  // The hash itself is not a key.
  EXPECT_FALSE(ring->Find(Sha256Hex("deploy-key-abcdefghij")));
}

TEST(ApiKeyRing, BadLinesAreNamedWithoutTheirKeys) {
  auto ring = ApiKeyRing::Parse(
      "root x some-long-secret-key-1\noperator short abc\nadmin h sha256:xyz\nadmin only-two\n");
  ASSERT_FALSE(ring);
  ASSERT_EQ(ring.error().details.size(), 4u);
  EXPECT_EQ(ring.error().details[0].field, "line 1");
  EXPECT_EQ(ring.error().details[1].field, "line 2");
  for (const auto& d : ring.error().details) {
    EXPECT_EQ(d.issue.find("some-long-secret"), std::string::npos);
  }
  EXPECT_FALSE(ApiKeyRing::Load("/nonexistent/keys"));
}

}  // namespace
}  // namespace shopflow::security
