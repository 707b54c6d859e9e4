// UTF-8 helpers shared by the tokenizer and the router's JSON code. Pure functions; no state.
#pragma once

#include <string>

namespace tgi::common {

// Appends the UTF-8 encoding of code point `cp` (at most U+10FFFF) to `out`.
void AppendUtf8(char32_t cp, std::string& out);

}  // namespace tgi::common
