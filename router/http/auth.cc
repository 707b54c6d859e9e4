#include "router/http/auth.h"

#include <cctype>
#include <cstddef>

namespace tgi::router::http {
namespace {

constexpr std::string_view kScheme = "bearer ";

bool SchemeMatches(std::string_view value) {
  if (value.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
  }
  return true;
}

// Equal bytes, reading every byte of `given` whatever the first difference.
bool ConstantTimeEquals(std::string_view given, std::string_view expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    const unsigned char e = expected.empty() ? 0 : expected[i % expected.size()];
    difference |= static_cast<unsigned char>(given[i]) ^ e;
  }
  return difference == 0;
}

}  // namespace

bool BearerKeyMatches(std::optional<std::string_view> authorization, std::string_view key) {
  if (key.empty()) return true;
  if (!authorization || !SchemeMatches(*authorization)) return false;
  return ConstantTimeEquals(authorization->substr(kScheme.size()), key);
}

}  // namespace tgi::router::http
