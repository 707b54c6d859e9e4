// A compact JSON writer whose bytes equal serde_json::to_string's for the same data: no spaces,
// keys in the order written, serde_json's string escapes, floats as ryu prints them and NaN/inf
// as null. The response builders use it; it knows nothing of TGI's types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tgi::router {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // The next value is this member's.
  JsonWriter& Key(std::string_view key);

  // Invalid UTF-8 is written as from_utf8_lossy would repair it (a Rust String cannot hold it).
  JsonWriter& String(std::string_view value);
  JsonWriter& Null();
  JsonWriter& Bool(bool value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Int(int64_t value);
  JsonWriter& F32(float value);
  JsonWriter& F64(double value);
  // Already-serialised JSON, inserted as one value.
  JsonWriter& Raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void BeforeValue();

  std::string out_;
  // One entry per open container: whether a value was written in it yet.
  std::vector<bool> has_value_;
  bool after_key_ = false;
};

// `text` as a JSON string literal, escaped as serde_json does.
std::string JsonQuote(std::string_view text);

}  // namespace tgi::router
