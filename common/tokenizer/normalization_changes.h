// How Hugging Face describes a Unicode normalization (NFC, NFD, NFKC, NFKD) for offset tracking:
// the crate unicode-normalization-alignments yields each output character with a change (0: it
// takes the place of the next input character, 1: it is new, -n: it also absorbs the n input
// characters after that one). Reproduced here with utf8proc's per-character data; the normalized
// text itself still comes from utf8proc_map (normalizers.cc).
#pragma once

#include <string_view>
#include <vector>

namespace tgi::common::tokenizer_impl {

struct CharChange {
  char32_t cp;
  int change;
};

// The changes of normalizing valid UTF-8 `text`: canonical or compatibility (`compat`)
// decomposition, canonical reordering, then canonical composition when `compose`.
std::vector<CharChange> NormalizationChanges(std::string_view text, bool compose, bool compat);

}  // namespace tgi::common::tokenizer_impl
