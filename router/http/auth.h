// The API key check of the generation routes: `Authorization: Bearer <key>`. The scheme word is
// matched without regard to case (RFC 9110 §11.1); the key must match exactly, byte for byte, and
// is compared in time that does not depend on where the first difference lies. Pure functions; the
// key is never logged.
#pragma once

#include <optional>
#include <string_view>

namespace tgi::router::http {

// True when `authorization` (the header's value, or nullopt when absent) carries exactly `key`.
// An empty `key` means no key is required.
bool BearerKeyMatches(std::optional<std::string_view> authorization, std::string_view key);

}  // namespace tgi::router::http
