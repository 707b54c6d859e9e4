# Build-time step: writes OUTPUT, a C++ file defining tgi::router::OpenApiJson() over the bytes of
# INPUT (as a byte array, so no text in the document can break the generated source).
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes
       "${bytes}")
file(WRITE "${OUTPUT}.tmp" "// Generated from router/api/openapi.json by embed_openapi.cmake. Do not edit.
#include <cstddef>

#include \"router/api/openapi.h\"

namespace tgi::router {
namespace {
constexpr unsigned char kDocument[] = {
${bytes}0x00};
constexpr size_t kSize = ${size};
}  // namespace

std::string_view OpenApiJson() {
  return std::string_view(reinterpret_cast<const char*>(kDocument), kSize);
}

}  // namespace tgi::router
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
