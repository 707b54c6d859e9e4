// The Jinja2 parser for the chat-template subset: tokens to a statement tree (ast.h), with
// Jinja2's operator precedence. Tags outside the subset (include, import, extends, block, call,
// raw, with, ...) are rejected here, naming the tag and its line. No evaluation here.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "router/chat/ast.h"

namespace tgi::router::chat {

// Tokenizes and parses a template. Errors are absl::InvalidArgumentError, e.g.
// "unsupported Jinja construct 'include' at line 3" or "expected 'endfor' ... at line 7".
absl::StatusOr<Body> ParseTemplate(std::string_view source);

}  // namespace tgi::router::chat
