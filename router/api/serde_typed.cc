#include "router/api/serde_typed.h"

#include <limits>
#include <optional>

namespace tgi::router::serde {
namespace {

// serde_json's deserialize_number up to the visitor: the number ahead, or an invalid-type error.
Number ReadNumber(Reader& reader, std::string_view expected) {
  const std::optional<uint8_t> peek = reader.ParseWhitespace();
  if (!peek) reader.PeekError(Code::kEofWhileParsingValue);
  if (*peek == '-') {
    reader.EatChar();
    return reader.ParseInteger(false);
  }
  if (*peek >= '0' && *peek <= '9') return reader.ParseInteger(true);
  reader.PeekInvalidType(expected);
}

[[noreturn]] void InvalidValue(const Number& number, std::string_view expected) {
  throw DeError::Data("invalid value: " + UnexpectedNumber(number) + ", expected " +
                      std::string(expected));
}

[[noreturn]] void InvalidType(const Number& number, std::string_view expected) {
  throw DeError::Data("invalid type: " + UnexpectedNumber(number) + ", expected " +
                      std::string(expected));
}

// serde's primitive visitor for an unsigned integer type named `name` with maximum `max`.
uint64_t ReadUnsigned(Reader& reader, std::string_view name, uint64_t max) {
  try {
    const Number number = ReadNumber(reader, name);
    switch (number.kind) {
      case Number::Kind::kU64:
        if (number.u > max) InvalidValue(number, name);
        return number.u;
      case Number::Kind::kI64:  // only negative values are I64
        InvalidValue(number, name);
      case Number::Kind::kF64:
        InvalidType(number, name);
    }
    return 0;
  } catch (DeError& error) {
    reader.FixPosition(error);
    throw;
  }
}

}  // namespace

std::string ReadString(Reader& reader) {
  const std::optional<uint8_t> peek = reader.ParseWhitespace();
  if (!peek) reader.PeekError(Code::kEofWhileParsingValue);
  if (*peek != '"') reader.PeekInvalidType("a string");
  reader.EatChar();
  return reader.ParseStr();
}

bool ReadBool(Reader& reader) {
  const std::optional<uint8_t> peek = reader.ParseWhitespace();
  if (!peek) reader.PeekError(Code::kEofWhileParsingValue);
  if (*peek == 't') {
    reader.EatChar();
    reader.ParseIdent("rue");
    return true;
  }
  if (*peek == 'f') {
    reader.EatChar();
    reader.ParseIdent("alse");
    return false;
  }
  reader.PeekInvalidType("a boolean");
}

uint32_t ReadU32(Reader& reader) {
  return static_cast<uint32_t>(ReadUnsigned(reader, "u32", std::numeric_limits<uint32_t>::max()));
}

uint64_t ReadU64(Reader& reader) {
  return ReadUnsigned(reader, "u64", std::numeric_limits<uint64_t>::max());
}

uint64_t ReadUsize(Reader& reader) {
  return ReadUnsigned(reader, "usize", std::numeric_limits<uint64_t>::max());
}

int32_t ReadI32(Reader& reader) {
  try {
    const Number number = ReadNumber(reader, "i32");
    switch (number.kind) {
      case Number::Kind::kU64:
        if (number.u > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
          InvalidValue(number, "i32");
        }
        return static_cast<int32_t>(number.u);
      case Number::Kind::kI64:
        if (number.i < std::numeric_limits<int32_t>::min()) InvalidValue(number, "i32");
        return static_cast<int32_t>(number.i);
      case Number::Kind::kF64:
        InvalidType(number, "i32");
    }
    return 0;
  } catch (DeError& error) {
    reader.FixPosition(error);
    throw;
  }
}

float ReadF32(Reader& reader) {
  const Number number = ReadNumber(reader, "f32");
  switch (number.kind) {
    case Number::Kind::kU64:
      return static_cast<float>(number.u);
    case Number::Kind::kI64:
      return static_cast<float>(number.i);
    case Number::Kind::kF64:
      return static_cast<float>(number.f);
  }
  return 0;
}

void VisitContainer(Reader& reader, uint8_t open, const std::function<void()>& visit) {
  try {
    reader.EnterNested();
    reader.EatChar();
    std::optional<DeError> visit_error;
    try {
      visit();
    } catch (DeError& error) {
      visit_error = std::move(error);
    }
    reader.LeaveNested();
    if (visit_error) {
      try {
        open == '{' ? reader.EndMap() : reader.EndSeq();
      } catch (DeError&) {
        // serde_json evaluates the end even after a failed visit; the visitor's error wins.
      }
      throw *visit_error;
    }
    open == '{' ? reader.EndMap() : reader.EndSeq();
  } catch (DeError& error) {
    reader.FixPosition(error);
    throw;
  }
}

std::vector<std::string> ReadStringSeq(Reader& reader) {
  const std::optional<uint8_t> peek = reader.ParseWhitespace();
  if (!peek) reader.PeekError(Code::kEofWhileParsingValue);
  if (*peek != '[') reader.PeekInvalidType("a sequence");
  std::vector<std::string> values;
  VisitContainer(reader, '[', [&] {
    bool first = true;
    while (reader.NextElement(first)) {
      values.push_back(reader.InIndex(values.size(), [&] { return ReadString(reader); }));
    }
  });
  return values;
}

void ReadStruct(Reader& reader, std::string_view name, std::span<const FieldSpec> fields) {
  const std::optional<uint8_t> peek = reader.ParseWhitespace();
  if (!peek) reader.PeekError(Code::kEofWhileParsingValue);
  if (*peek == '{') {
    VisitContainer(reader, '{', [&] {
      std::vector<bool> seen(fields.size(), false);
      bool first = true;
      while (std::optional<std::string> key = reader.NextKey(first)) {
        size_t index = 0;
        while (index < fields.size() && fields[index].name != *key) ++index;
        const bool known = index < fields.size();
        if (known && !fields[index].extra && seen[index]) {
          throw DeError::Data("duplicate field `" + *key + "`");
        }
        reader.ParseObjectColon();
        reader.InKey(*key, [&] {
          if (known) {
            fields[index].read(reader);
          } else {
            reader.IgnoreValue();
          }
        });
        if (known) seen[index] = true;
      }
      for (size_t i = 0; i < fields.size(); ++i) {
        if (fields[i].required && !seen[i]) {
          throw DeError::Data("missing field `" + std::string(fields[i].name) + "`");
        }
      }
    });
    return;
  }
  if (*peek == '[') {
    size_t positional = 0;
    for (const FieldSpec& field : fields) positional += field.extra ? 0 : 1;
    VisitContainer(reader, '[', [&] {
      bool first = true;
      size_t position = 0;
      for (const FieldSpec& field : fields) {
        if (field.extra) continue;
        if (!reader.NextElement(first)) {
          if (field.required) {
            throw DeError::Data("invalid length " + std::to_string(position) + ", expected " +
                                std::string(name) + " with " + std::to_string(positional) +
                                " elements");
          }
        } else {
          reader.InIndex(position, [&] { field.read(reader); });
        }
        ++position;
      }
    });
    return;
  }
  reader.PeekInvalidType(name);
}

}  // namespace tgi::router::serde
