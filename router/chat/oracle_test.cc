// The chat-template oracle (testdata/chat-templates): every conversation of every real template
// rendered byte for byte as Python's Jinja2 renders it, and the rejected ones failing with the
// template's raise_exception message.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "boost/json.hpp"
#include "gtest/gtest.h"
#include "router/chat/chat_template.h"

namespace tgi::router::chat {
namespace {

const std::filesystem::path kDir = std::filesystem::path(TGI_TESTDATA_DIR) / "chat-templates";

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> TemplateNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(kDir / "expected")) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The variables the fixture's renderer passed: tools always (null is None), documents None,
// bos/eos only when not null, then extra_context.
boost::json::object Variables(const boost::json::object& conversation) {
  boost::json::object variables;
  variables["messages"] = conversation.at("messages");
  variables["add_generation_prompt"] = conversation.at("add_generation_prompt");
  variables["tools"] = conversation.at("tools");
  variables["documents"] = nullptr;
  for (const char* token : {"bos_token", "eos_token"}) {
    if (!conversation.at(token).is_null()) variables[token] = conversation.at(token);
  }
  if (const auto* extra = conversation.if_contains("extra_context"); extra && extra->is_object()) {
    for (const auto& [key, value] : extra->get_object()) variables[key] = value;
  }
  return variables;
}

absl::CivilSecond FrozenClock() { return absl::CivilSecond(2024, 7, 26, 0, 0, 0); }

TEST(ChatTemplateOracleCountTest, EveryTemplateParses) {
  std::vector<std::string> names = TemplateNames();
  ASSERT_EQ(names.size(), 20u);
  for (const std::string& name : names) {
    absl::StatusOr<ChatTemplate> parsed =
        ChatTemplate::Parse(ReadFile(kDir / "templates" / (name + ".jinja")));
    EXPECT_TRUE(parsed.ok()) << name << ": " << parsed.status();
  }
}

// Every conversation of one template, byte for byte; returns the number of conversations.
int CheckTemplate(const std::string& name) {
  absl::StatusOr<ChatTemplate> parsed =
      ChatTemplate::Parse(ReadFile(kDir / "templates" / (name + ".jinja")));
  if (!parsed.ok()) {
    ADD_FAILURE() << parsed.status();
    return 0;
  }
  const boost::json::value fixture =
      boost::json::parse(ReadFile(kDir / "expected" / (name + ".json")));
  int cases = 0;
  for (const auto& item : fixture.as_array()) {
    const boost::json::object& conversation = item.as_object();
    SCOPED_TRACE(std::string(conversation.at("name").as_string()));
    ++cases;
    absl::StatusOr<std::string> rendered =
        parsed->Render(Variables(conversation), RenderOptions{FrozenClock});
    if (conversation.at("expected").is_null()) {
      if (rendered.ok()) {
        ADD_FAILURE() << "rendered instead of failing: " << *rendered;
        continue;
      }
      EXPECT_EQ(rendered.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(std::string(rendered.status().message()),
                std::string(conversation.at("error").as_string()));
    } else {
      if (!rendered.ok()) {
        ADD_FAILURE() << rendered.status();
        continue;
      }
      EXPECT_EQ(*rendered, std::string(conversation.at("expected").as_string()));
    }
  }
  return cases;
}

class ChatTemplateOracleTest : public testing::TestWithParam<std::string> {};

TEST_P(ChatTemplateOracleTest, EveryConversationRendersExactly) {
  SCOPED_TRACE(GetParam());
  EXPECT_GT(CheckTemplate(GetParam()), 0);
}

INSTANTIATE_TEST_SUITE_P(Templates, ChatTemplateOracleTest, testing::ValuesIn(TemplateNames()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(ChatTemplateOracleCountTest, FixtureHoldsEveryConversation) {
  int cases = 0;
  for (const std::string& name : TemplateNames()) {
    const boost::json::value fixture =
        boost::json::parse(ReadFile(kDir / "expected" / (name + ".json")));
    cases += static_cast<int>(fixture.as_array().size());
  }
  EXPECT_EQ(cases, 149);
}

}  // namespace
}  // namespace tgi::router::chat
