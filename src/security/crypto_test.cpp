#include "security/crypto.hpp"

#include <gtest/gtest.h>

namespace shopflow::security {
namespace {

TEST(Base64Url, RoundTripsEveryLengthWithoutPadding) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    const std::string encoded = Base64UrlEncode(bytes);
    EXPECT_EQ(encoded.find('='), std::string::npos);
    EXPECT_EQ(encoded.find('+'), std::string::npos);
    EXPECT_EQ(encoded.find('/'), std::string::npos);
    std::string decoded;
    ASSERT_TRUE(Base64UrlDecode(encoded, decoded)) << encoded;
    EXPECT_EQ(decoded, bytes);
    bytes += static_cast<char>(0xF0 + i);
  }
  EXPECT_EQ(Base64UrlEncode("{\"alg\":\"HS256\"}"), "eyJhbGciOiJIUzI1NiJ9");
}

TEST(Base64Url, RejectsForeignCharactersPaddingAndNonCanonicalSpellings) {
  std::string out;
  EXPECT_FALSE(Base64UrlDecode("ab+/", out));
  EXPECT_FALSE(Base64UrlDecode("YQ==", out));
  EXPECT_FALSE(Base64UrlDecode("Y", out));  // a length no encoding produces
  EXPECT_TRUE(Base64UrlDecode("YQ", out));
  EXPECT_EQ(out, "a");
  EXPECT_FALSE(Base64UrlDecode("YR", out));  // same byte, non-zero trailing bits
}

TEST(Crypto, HmacSha256MatchesRfc4231TestCase2) {
  const std::string mac = HmacSha256("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(Base64UrlEncode(mac), "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM");
}

TEST(Crypto, Sha256HexAndConstantTimeEquals) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(ConstantTimeEquals("same", "same"));
  EXPECT_FALSE(ConstantTimeEquals("same", "sane"));
  EXPECT_FALSE(ConstantTimeEquals("same", "same!"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace shopflow::security
