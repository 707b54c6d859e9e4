// The OpenAPI 3 document served at GET /api-doc/openapi.json, describing this server's TGI routes
// and schemas. Its source is router/api/openapi.json, compiled into the binary at build time, so
// the server never reads the source tree.
#pragma once

#include <string_view>

namespace tgi::router {

// The document's JSON text.
std::string_view OpenApiJson();

}  // namespace tgi::router
