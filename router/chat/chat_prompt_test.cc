// ChatPrompt and LoadChatTemplateSource: where the template is found (string, named list,
// chat_template.jinja, --tokenizer-config-path), the special tokens, parse errors at load, and the
// one-BOS rule for a tokenizer that adds its own.
#include "router/chat/chat_prompt.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "boost/json.hpp"
#include "gtest/gtest.h"

namespace tgi::router::chat {
namespace {

namespace fs = std::filesystem;

class ChatPromptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("chat_prompt_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  fs::path dir_;
};

boost::json::array Messages(std::string_view json) { return boost::json::parse(json).as_array(); }

TEST_F(ChatPromptTest, StringTemplateAndTokensFromTokenizerConfig) {
  Write("tokenizer_config.json",
        R"({"chat_template": "{{ bos_token }}{{ messages[0]['content'] }}{{ eos_token }}",
            "bos_token": "<s>", "eos_token": {"content": "</s>", "lstrip": false}})");
  absl::StatusOr<std::optional<ChatTemplateSource>> source = LoadChatTemplateSource(dir_, "");
  ASSERT_TRUE(source.ok()) << source.status();
  ASSERT_TRUE(source->has_value());
  EXPECT_EQ((*source)->bos_token, "<s>");
  EXPECT_EQ((*source)->eos_token, "</s>");
  EXPECT_EQ((*source)->origin, (dir_ / "tokenizer_config.json").string());
  absl::StatusOr<ChatPrompt> prompt = ChatPrompt::Create(**source, {});
  ASSERT_TRUE(prompt.ok()) << prompt.status();
  EXPECT_EQ(*prompt->Render(Messages(R"([{"role":"user","content":"hi"}])")), "<s>hi</s>");
}

TEST_F(ChatPromptTest, NamedListUsesTheDefaultEntry) {
  Write("tokenizer_config.json", R"({"chat_template": [
      {"name": "tool_use", "template": "tools"},
      {"name": "default", "template": "default:{{ add_generation_prompt }}"}]})");
  absl::StatusOr<std::optional<ChatTemplateSource>> source = LoadChatTemplateSource(dir_, "");
  ASSERT_TRUE(source.ok()) << source.status();
  ASSERT_TRUE(source->has_value());
  EXPECT_EQ((*source)->source, "default:{{ add_generation_prompt }}");
  EXPECT_EQ(*ChatPrompt::Create(**source, {})->Render({}), "default:True");

  Write("tokenizer_config.json", R"({"chat_template": [{"name": "rag", "template": "x"}]})");
  EXPECT_EQ(
      LoadChatTemplateSource(dir_, "").status().message(),
      (dir_ / "tokenizer_config.json").string() + ": chat_template lists no \"default\" template");
}

TEST_F(ChatPromptTest, JinjaFileBesideTheConfig) {
  Write("tokenizer_config.json", R"({"bos_token": "<s>"})");
  Write("chat_template.jinja", "from file {{ bos_token }}");
  absl::StatusOr<std::optional<ChatTemplateSource>> source = LoadChatTemplateSource(dir_, "");
  ASSERT_TRUE(source.ok()) << source.status();
  ASSERT_TRUE(source->has_value());
  EXPECT_EQ((*source)->source, "from file {{ bos_token }}");
  EXPECT_EQ((*source)->origin, (dir_ / "chat_template.jinja").string());
}

TEST_F(ChatPromptTest, NoTemplateAnywhereIsNullopt) {
  Write("tokenizer_config.json", R"({"bos_token": "<s>"})");
  absl::StatusOr<std::optional<ChatTemplateSource>> source = LoadChatTemplateSource(dir_, "");
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_FALSE(source->has_value());
  // No tokenizer_config.json at all (a hub id rather than a directory) is no template either.
  source = LoadChatTemplateSource(dir_ / "missing", "");
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_FALSE(source->has_value());
}

TEST_F(ChatPromptTest, TokenizerConfigPathReplacesTheModelsConfig) {
  Write("tokenizer_config.json", R"({"chat_template": "model's"})");
  fs::create_directories(dir_ / "other");
  Write("other/config.json", R"({"chat_template": "given", "bos_token": "[B]"})");
  absl::StatusOr<std::optional<ChatTemplateSource>> source =
      LoadChatTemplateSource(dir_, (dir_ / "other/config.json").string());
  ASSERT_TRUE(source.ok()) << source.status();
  ASSERT_TRUE(source->has_value());
  EXPECT_EQ((*source)->source, "given");
  EXPECT_EQ((*source)->bos_token, "[B]");

  EXPECT_EQ(LoadChatTemplateSource(dir_, (dir_ / "nope.json").string()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ChatPromptTest, MalformedConfigIsAnError) {
  Write("tokenizer_config.json", "{not json");
  EXPECT_EQ(LoadChatTemplateSource(dir_, "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChatPromptCreateTest, ParseErrorsNameTheConstructAndLine) {
  absl::StatusOr<ChatPrompt> prompt = ChatPrompt::Create({.source = "ok\n{% include 'x' %}"}, {});
  EXPECT_EQ(prompt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(prompt.status().message(), "unsupported Jinja construct 'include' at line 2");
}

TEST(ChatPromptCreateTest, RaiseExceptionKeepsTheTemplatesMessage) {
  absl::StatusOr<ChatPrompt> prompt = ChatPrompt::Create(
      {.source = "{% if messages[0]['role'] != 'user' %}"
                 "{{ raise_exception('Conversation roles must alternate') }}{% endif %}"},
      {});
  ASSERT_TRUE(prompt.ok()) << prompt.status();
  absl::StatusOr<std::string> rendered =
      prompt->Render(Messages(R"([{"role":"assistant","content":"x"}])"));
  EXPECT_EQ(rendered.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rendered.status().message(), "Conversation roles must alternate");
}

TEST(ChatPromptCreateTest, UndefinedTokensAndToolsNone) {
  absl::StatusOr<ChatPrompt> prompt = ChatPrompt::Create(
      {.source = "[{{ bos_token is defined }}|{{ tools is none }}|{{ add_generation_prompt }}]"},
      {});
  ASSERT_TRUE(prompt.ok()) << prompt.status();
  EXPECT_EQ(*prompt->Render({}), "[False|True|True]");
}

TEST(ChatPromptCreateTest, ABosTheTokenizerAddsIsNotWrittenTwice) {
  const ChatTemplateSource source{
      .source = "{{ bos_token }}{{ messages[0]['content'] }}{{ eos_token }}",
      .bos_token = "<s>",
      .eos_token = "</s>"};
  const boost::json::array messages = Messages(R"([{"role":"user","content":"<s>hi"}])");
  EXPECT_EQ(*ChatPrompt::Create(source, {})->Render(messages), "<s><s>hi</s>");
  EXPECT_EQ(*ChatPrompt::Create(source, {.tokenizer_adds_bos = true})->Render(messages),
            "<s>hi</s>");
  EXPECT_EQ(*ChatPrompt::Create(source, {.tokenizer_adds_bos = true, .tokenizer_adds_eos = true})
                 ->Render(messages),
            "<s>hi");
}

}  // namespace
}  // namespace tgi::router::chat
