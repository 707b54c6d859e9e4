#include "router/api/openapi.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <string>

namespace tgi::router {
namespace {

TEST(OpenApiTest, ParsesAndListsTheRoutes) {
  boost::system::error_code ec;
  const boost::json::value document = boost::json::parse(OpenApiJson(), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(document.at("openapi").as_string()).substr(0, 2), "3.");
  const boost::json::object& paths = document.at("paths").as_object();
  for (const char* path : {"/", "/generate", "/generate_stream", "/health", "/ping", "/info",
                           "/tokenize", "/metrics", "/v1/chat/completions", "/v1/models"}) {
    EXPECT_TRUE(paths.contains(path)) << path;
  }
  EXPECT_TRUE(paths.at("/").as_object().contains("get"));
  EXPECT_TRUE(paths.at("/").as_object().contains("post"));
  EXPECT_TRUE(paths.at("/generate").as_object().contains("post"));
  EXPECT_TRUE(paths.at("/info").as_object().contains("get"));
  EXPECT_TRUE(paths.at("/v1/chat/completions").as_object().contains("post"));
  EXPECT_TRUE(paths.at("/v1/models").as_object().contains("get"));
}

TEST(OpenApiTest, EveryReferenceResolves) {
  const boost::json::value document = boost::json::parse(OpenApiJson());
  const boost::json::object& schemas = document.at("components").at("schemas").as_object();
  int references = 0;
  std::function<void(const boost::json::value&)> visit = [&](const boost::json::value& v) {
    if (v.is_object()) {
      for (const auto& [key, child] : v.as_object()) {
        if (key == "$ref") {
          const std::string ref(child.as_string());
          const std::string prefix = "#/components/schemas/";
          ASSERT_EQ(ref.substr(0, prefix.size()), prefix);
          EXPECT_TRUE(schemas.contains(ref.substr(prefix.size()))) << ref;
          ++references;
        } else {
          visit(child);
        }
      }
    } else if (v.is_array()) {
      for (const boost::json::value& child : v.as_array()) visit(child);
    }
  };
  visit(document);
  EXPECT_GT(references, 20);
  for (const char* schema :
       {"GenerateRequest", "GenerateParameters", "GenerateResponse", "Details", "StreamResponse",
        "ErrorResponse", "Info", "SimpleToken", "ChatRequest", "ChatCompletion",
        "ChatCompletionChunk", "ModelList"}) {
    EXPECT_TRUE(schemas.contains(schema)) << schema;
  }
}

}  // namespace
}  // namespace tgi::router
