// Typed reads on top of serde_json_reader.h, each behaving as serde's Deserialize impl for the
// Rust type named in its comment (accepted inputs, error text, error position), and the shape of
// serde's derived struct visitor (fields by name or by position, unknown names skipped, repeated
// names and missing required fields rejected). Knows no TGI types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "router/api/serde_json_reader.h"

namespace tgi::router::serde {

std::string ReadString(Reader& reader);                  // String
bool ReadBool(Reader& reader);                           // bool
uint32_t ReadU32(Reader& reader);                        // u32
uint64_t ReadU64(Reader& reader);                        // u64
uint64_t ReadUsize(Reader& reader);                      // usize (64-bit)
int32_t ReadI32(Reader& reader);                         // i32
float ReadF32(Reader& reader);                           // f32
std::vector<std::string> ReadStringSeq(Reader& reader);  // Vec<String>

// Option<T>: None for `null`, otherwise `read`.
template <typename F>
auto ReadOption(Reader& reader, F&& read) -> std::optional<decltype(read())> {
  if (reader.ParseWhitespace() == uint8_t{'n'}) {
    reader.EatChar();
    reader.ParseIdent("ull");
    return std::nullopt;
  }
  return read();
}

// One field of a derived struct.
struct FieldSpec {
  std::string_view name;
  std::function<void(Reader&)> read;  // reads the value into its destination
  bool required = false;              // no #[serde(default)]
  // Not a serde field at all (e.g. a key a later TGI version added): skipped like an unknown key
  // by the visitor's duplicate check and by the positional (array) form.
  bool extra = false;
};

// serde_derive's Deserialize for `struct <name>` over `fields` (in declaration order): a JSON
// object by key, or a JSON array by position; absent fields keep whatever the caller put there.
void ReadStruct(Reader& reader, std::string_view name, std::span<const FieldSpec> fields);

// Runs `visit` on the open container after `open` (`{` or `[`), then consumes its end as
// serde_json's deserialize_map/seq do (the end is consumed even when `visit` fails, then the
// visitor's error wins), and positions unpositioned errors there.
void VisitContainer(Reader& reader, uint8_t open, const std::function<void()>& visit);

}  // namespace tgi::router::serde
