#include "router/http/auth.h"

#include <gtest/gtest.h>

#include <optional>
#include <string_view>

#include "router/http/routes.h"

namespace tgi::router::http {
namespace {

TEST(BearerKeyTest, OnlyTheExactKeyPasses) {
  const std::string_view key = "Secret-Key";
  EXPECT_TRUE(BearerKeyMatches("Bearer Secret-Key", key));
  EXPECT_TRUE(BearerKeyMatches("bearer Secret-Key", key));  // the scheme ignores case
  EXPECT_TRUE(BearerKeyMatches("BEARER Secret-Key", key));
  EXPECT_FALSE(BearerKeyMatches(std::nullopt, key));
  EXPECT_FALSE(BearerKeyMatches("", key));
  EXPECT_FALSE(BearerKeyMatches("Bearer secret-key", key));  // the key does not
  EXPECT_FALSE(BearerKeyMatches("Bearer SECRET-KEY", key));
  EXPECT_FALSE(BearerKeyMatches("Secret-Key", key));
  EXPECT_FALSE(BearerKeyMatches("Bearer Secret-Key ", key));
  EXPECT_FALSE(BearerKeyMatches("Bearer  Secret-Key", key));
  EXPECT_FALSE(BearerKeyMatches("Bearer Secret-Ke", key));
  EXPECT_FALSE(BearerKeyMatches("Bearer Secret-KeyX", key));
  EXPECT_FALSE(BearerKeyMatches("Bearer ", key));
  EXPECT_FALSE(BearerKeyMatches("Basic Secret-Key", key));
  EXPECT_FALSE(BearerKeyMatches("Bearer Secret-Kex", key));
}

TEST(BearerKeyTest, NoKeyConfiguredLetsEveryoneIn) {
  EXPECT_TRUE(BearerKeyMatches(std::nullopt, ""));
  EXPECT_TRUE(BearerKeyMatches("Bearer anything", ""));
}

// Walks the route table: every route is behind the key except an explicit allow-list of public
// ones (TGI's info routes), so a new route cannot slip past the check.
TEST(RouteTableTest, EveryRouteButThePublicOnesNeedsTheKey) {
  struct Public {
    beast_http::verb method;
    std::string_view path;
  };
  const Public kPublic[] = {
      {beast_http::verb::get, "/"},        {beast_http::verb::get, "/health"},
      {beast_http::verb::get, "/ping"},    {beast_http::verb::get, "/info"},
      {beast_http::verb::get, "/metrics"}, {beast_http::verb::get, "/api-doc/openapi.json"},
      {beast_http::verb::get, "/docs"},    {beast_http::verb::get, "/v1/models"},
      {beast_http::verb::post, "/chat_tokenize"},
  };
  int guarded = 0;
  for (const Routes::Route& route : Routes::Table()) {
    bool is_public = false;
    for (const Public& p : kPublic) is_public |= p.method == route.method && p.path == route.path;
    EXPECT_EQ(route.generation, !is_public) << route.path;
    guarded += route.generation ? 1 : 0;
  }
  EXPECT_GE(guarded, 4);  // POST /, /generate, /generate_stream, /tokenize at least
}

}  // namespace
}  // namespace tgi::router::http
