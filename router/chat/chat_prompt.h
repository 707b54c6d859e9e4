// The model's chat template as the router serves it: found at start-up (tokenizer_config.json's
// `chat_template`, a string or a list of {name, template} whose "default" entry is used; else a
// chat_template.jinja beside it), parsed once, and rendered per request with TGI's variables
// (messages, bos_token, eos_token, add_generation_prompt=true, tools=null). Owns no HTTP and no
// tokenizer: the caller says whether the tokenizer adds BOS/EOS itself.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "boost/json/array.hpp"
#include "router/chat/chat_template.h"

namespace tgi::router::chat {

// What the files say: the template source and the special tokens' contents.
struct ChatTemplateSource {
  std::string source = {};
  std::string origin = {};  // the file it came from, for start-up messages
  std::optional<std::string> bos_token = {};
  std::optional<std::string> eos_token = {};
};

// Reads `tokenizer_config_path` when not empty, else `model_dir`/tokenizer_config.json (a missing
// file is no template). The template comes from its `chat_template`, else from a
// chat_template.jinja beside that file, else beside `model_dir`'s. nullopt: no template. An
// unreadable or malformed file, or a template list without "default", is an error.
absl::StatusOr<std::optional<ChatTemplateSource>> LoadChatTemplateSource(
    const std::filesystem::path& model_dir, const std::string& tokenizer_config_path);

class ChatPrompt {
 public:
  // Whether the tokenizer adds BOS (EOS) when the shard encodes the prompt. TGI 2.3+ encodes a
  // rendered prompt without special tokens; a generate.v2 shard always adds them, so a BOS (EOS)
  // the template wrote is dropped here and the shard's own takes its place (one BOS, not two).
  struct SpecialTokens {
    bool tokenizer_adds_bos = false;
    bool tokenizer_adds_eos = false;
  };

  // Parse errors name the construct and line (ChatTemplate::Parse).
  static absl::StatusOr<ChatPrompt> Create(ChatTemplateSource source, SpecialTokens special);

  // The prompt for `messages` (each {role, content: string, ...}). Errors as ChatTemplate::Render:
  // InvalidArgument with the raise_exception message, FailedPrecondition otherwise.
  absl::StatusOr<std::string> Render(const boost::json::array& messages) const;

 private:
  ChatPrompt(ChatTemplate program, ChatTemplateSource source, SpecialTokens special)
      : program_(std::move(program)), source_(std::move(source)), special_(special) {}

  ChatTemplate program_;
  ChatTemplateSource source_;
  SpecialTokens special_;
};

}  // namespace tgi::router::chat
