// A Hugging Face chat template (tokenizer_config.json's `chat_template`): parsed once, rendered
// per request as Python's Jinja2 does under transformers' apply_chat_template (trim_blocks,
// lstrip_blocks, loopcontrols, tojson with ensure_ascii=False, raise_exception, strftime_now).
// Knows nothing of HTTP or tokenizers: callers pass the request's JSON variables.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "boost/json/object.hpp"
#include "router/chat/ast.h"
#include "router/chat/evaluator.h"

namespace tgi::router::chat {

struct RenderOptions {
  // The local time strftime_now() formats; null means the machine's local time now.
  Clock clock;
};

class ChatTemplate {
 public:
  // Errors (absl::InvalidArgumentError) name the construct and line, e.g.
  // "unsupported Jinja construct 'include' at line 3".
  static absl::StatusOr<ChatTemplate> Parse(std::string_view source);

  // Renders with `variables` as the template's globals: messages, add_generation_prompt, tools,
  // documents, bos_token, eos_token and any extra (a JSON null is Python's None; a variable
  // left out is undefined). Errors:
  //   absl::InvalidArgumentError(msg)  the template called raise_exception(msg); msg verbatim;
  //   absl::FailedPreconditionError    any other evaluation failure (attribute of undefined,
  //                                    type error, ...), with the template line.
  absl::StatusOr<std::string> Render(const boost::json::object& variables,
                                     const RenderOptions& options = {}) const;

 private:
  explicit ChatTemplate(std::shared_ptr<const Body> program) : program_(std::move(program)) {}

  std::shared_ptr<const Body> program_;  // immutable; copies of a ChatTemplate share it
};

}  // namespace tgi::router::chat
