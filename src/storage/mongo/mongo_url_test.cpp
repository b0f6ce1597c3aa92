#include "storage/mongo/mongo_url.hpp"

#include <gtest/gtest.h>

namespace shopflow::mongo {
namespace {

int32_t OptionOf(const MongoUrl& url, const char* option) {
  return mongoc_uri_get_option_as_int32(url.uri.get(), option, -1);
}

TEST(MongoUrlTest, SeedUrlKeepsItsDatabaseAndGetsBoundedTimeouts) {
  auto url = ParseMongoUrl("mongodb://admin:admin123@mongo:27017/ecommerce?authSource=admin");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->database, "ecommerce");
  EXPECT_EQ(url->redacted, "mongodb://admin:***@mongo:27017/ecommerce?authSource=admin");
  EXPECT_EQ(OptionOf(*url, MONGOC_URI_SERVERSELECTIONTIMEOUTMS), kDefaultServerSelectionTimeoutMs);
  EXPECT_EQ(OptionOf(*url, MONGOC_URI_CONNECTTIMEOUTMS), kDefaultConnectTimeoutMs);
  EXPECT_EQ(OptionOf(*url, MONGOC_URI_SOCKETTIMEOUTMS), kDefaultSocketTimeoutMs);
  EXPECT_STREQ(mongoc_uri_get_auth_source(url->uri.get()), "admin");
  EXPECT_STREQ(mongoc_uri_get_username(url->uri.get()), "admin");
  EXPECT_STREQ(mongoc_uri_get_password(url->uri.get()), "admin123");
}

TEST(MongoUrlTest, TimeoutsGivenByTheUserAreKept) {
  auto url = ParseMongoUrl(
      "mongodb://h1:27017,h2:27018/shop?replicaSet=rs0&serverSelectionTimeoutMS=1500"
      "&socketTimeoutMS=2500");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->database, "shop");
  EXPECT_EQ(OptionOf(*url, MONGOC_URI_SERVERSELECTIONTIMEOUTMS), 1500);
  EXPECT_EQ(OptionOf(*url, MONGOC_URI_SOCKETTIMEOUTMS), 2500);
  EXPECT_EQ(OptionOf(*url, MONGOC_URI_CONNECTTIMEOUTMS), kDefaultConnectTimeoutMs);
  EXPECT_STREQ(mongoc_uri_get_replica_set(url->uri.get()), "rs0");
  EXPECT_EQ(url->redacted,
            "mongodb://h1:27017,h2:27018/shop?replicaSet=rs0&serverSelectionTimeoutMS=1500"
            "&socketTimeoutMS=2500");
}

TEST(MongoUrlTest, NoDatabaseMeansTheSeedsEcommerce) {
  for (const char* text : {"mongodb://localhost", "mongodb://localhost/", "mongodb://u:p@h/?w=1"}) {
    auto url = ParseMongoUrl(text);
    ASSERT_TRUE(url.ok()) << text << ": " << url.error().message;
    EXPECT_EQ(url->database, "ecommerce") << text;
  }
}

TEST(MongoUrlTest, MalformedUrlsAreValidationErrorsThatDoNotLeakThePassword) {
  for (const char* text :
       {"", "http://localhost:27017/db", "mongodb://", "mongodb://h:notaport/db",
        "mongodb://u:secret@h/db?serverSelectionTimeoutMS=abc&w=", "postgres://u:secret@h/db"}) {
    auto url = ParseMongoUrl(text);
    ASSERT_FALSE(url.ok()) << text;
    EXPECT_EQ(url.error().code, ErrorCode::kValidationFailed) << text;
    EXPECT_EQ(url.error().message.find("secret"), std::string::npos) << url.error().message;
    ASSERT_FALSE(url.error().details.empty());
    EXPECT_EQ(url.error().details[0].field, "MONGODB_URL");
  }
}

TEST(MongoUrlTest, RedactionHidesOnlyThePassword) {
  EXPECT_EQ(RedactMongoUrl("mongodb://u:p@h/db"), "mongodb://u:***@h/db");
  EXPECT_EQ(RedactMongoUrl("mongodb+srv://user:p%40ss@cluster.example.net/db"),
            "mongodb+srv://user:***@cluster.example.net/db");
  EXPECT_EQ(RedactMongoUrl("mongodb://user@h/db"), "mongodb://user@h/db");
  EXPECT_EQ(RedactMongoUrl("mongodb://h:27017/db"), "mongodb://h:27017/db");
  EXPECT_EQ(RedactMongoUrl("mongodb://u:p@ss@h:1"), "mongodb://u:***@h:1");
  EXPECT_EQ(RedactMongoUrl("not a url"), "not a url");
}

TEST(MongoUrlTest, DatabaseNamesMongoDbRefusesAreRejected) {
  EXPECT_TRUE(IsValidDatabaseName("ecommerce"));
  EXPECT_TRUE(IsValidDatabaseName("shopflow_test_01J"));
  EXPECT_FALSE(IsValidDatabaseName(""));
  EXPECT_FALSE(IsValidDatabaseName("a.b"));
  EXPECT_FALSE(IsValidDatabaseName("a b"));
  EXPECT_FALSE(IsValidDatabaseName("a$b"));
  EXPECT_FALSE(IsValidDatabaseName(std::string(64, 'x')));
}

}  // namespace
}  // namespace shopflow::mongo
