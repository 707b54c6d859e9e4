#include "common/tokenizer/normalization_changes.h"

#include <utf8proc.h>

#include <algorithm>
#include <optional>

#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {
namespace {

struct Decomposed {
  char32_t cp;
  int change;
  int ccc;
};

int CombiningClass(char32_t cp) {
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
}

// The primary composite of <starter, next>, if any (utf8proc composes the pair).
std::optional<char32_t> ComposePair(char32_t starter, char32_t next) {
  utf8proc_int32_t pair[2] = {static_cast<utf8proc_int32_t>(starter),
                              static_cast<utf8proc_int32_t>(next)};
  const utf8proc_ssize_t length = utf8proc_normalize_utf32(
      pair, 2, static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_STABLE));
  if (length != 1) return std::nullopt;
  return static_cast<char32_t>(pair[0]);
}

// Each character decomposed (the first code point of its decomposition takes its place, the
// others are new), then every run of non-starters stably sorted by combining class.
std::vector<Decomposed> Decompose(std::string_view text, bool compat) {
  const int options = UTF8PROC_DECOMPOSE | UTF8PROC_STABLE | (compat ? UTF8PROC_COMPAT : 0);
  std::vector<Decomposed> out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = kReplacementChar;
    size_t len = DecodeUtf8(text, pos, &cp);
    if (len == 0) len = 1;
    pos += len;
    utf8proc_int32_t buffer[32];
    int boundclass = 0;
    utf8proc_ssize_t count =
        utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buffer, 32,
                                static_cast<utf8proc_option_t>(options), &boundclass);
    if (count <= 0 || count > 32) {
      buffer[0] = static_cast<utf8proc_int32_t>(cp);
      count = 1;
    }
    for (utf8proc_ssize_t i = 0; i < count; ++i) {
      const auto d = static_cast<char32_t>(buffer[i]);
      out.push_back({d, i == 0 ? 0 : 1, CombiningClass(d)});
    }
  }
  size_t run = 0;
  while (run < out.size()) {
    if (out[run].ccc == 0) {
      ++run;
      continue;
    }
    size_t end = run;
    while (end < out.size() && out[end].ccc != 0) ++end;
    std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(run),
                     out.begin() + static_cast<std::ptrdiff_t>(end),
                     [](const Decomposed& a, const Decomposed& b) { return a.ccc < b.ccc; });
    run = end;
  }
  return out;
}

// Canonical composition, a composite summing the changes of what it absorbs, as the crate's
// Recompositions iterator.
std::vector<CharChange> Compose(const std::vector<Decomposed>& chars) {
  std::vector<CharChange> out;
  out.reserve(chars.size());
  std::optional<CharChange> composee;
  std::vector<CharChange> blocked;  // non-starters after the composee that did not compose
  std::optional<int> last_ccc;
  auto flush = [&]() {
    if (composee) out.push_back(*composee);
    out.insert(out.end(), blocked.begin(), blocked.end());
    blocked.clear();
    composee.reset();
    last_ccc.reset();
  };
  for (const Decomposed& c : chars) {
    if (!composee) {
      if (c.ccc != 0) {
        out.push_back({c.cp, c.change});
      } else {
        composee = CharChange{c.cp, c.change};
      }
      continue;
    }
    const bool is_blocked = last_ccc.has_value() && *last_ccc >= c.ccc;
    if (!is_blocked) {
      if (auto composed = ComposePair(composee->cp, c.cp)) {
        composee = CharChange{*composed, composee->change + c.change - 1};
        continue;
      }
    }
    if (c.ccc == 0) {
      flush();
      composee = CharChange{c.cp, c.change};
      continue;
    }
    blocked.push_back({c.cp, c.change});
    last_ccc = c.ccc;
  }
  flush();
  return out;
}

}  // namespace

std::vector<CharChange> NormalizationChanges(std::string_view text, bool compose, bool compat) {
  std::vector<Decomposed> decomposed = Decompose(text, compat);
  if (compose) return Compose(decomposed);
  std::vector<CharChange> out;
  out.reserve(decomposed.size());
  for (const Decomposed& d : decomposed) out.push_back({d.cp, d.change});
  return out;
}

}  // namespace tgi::common::tokenizer_impl
