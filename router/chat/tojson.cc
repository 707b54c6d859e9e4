// json.dumps for template values.
#include "router/chat/tojson.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "router/chat/builtins.h"

namespace tgi::router::chat {
namespace {

class JsonWriter {
 public:
  explicit JsonWriter(const JsonFormat& format) : format_(format) {
    if (format.separators.has_value()) {
      item_separator_ = format.separators->first;
      key_separator_ = format.separators->second;
    } else {
      item_separator_ = format.indent.has_value() ? "," : ", ";
      key_separator_ = ": ";
    }
  }

  absl::Status Write(const Value& v, int depth) {
    switch (v.kind()) {
      case Value::Kind::kNone:
        out_ += "null";
        return absl::OkStatus();
      case Value::Kind::kBool:
        out_ += v.bool_value() ? "true" : "false";
        return absl::OkStatus();
      case Value::Kind::kInt:
        absl::StrAppend(&out_, v.int_value());
        return absl::OkStatus();
      case Value::Kind::kFloat:
        WriteFloat(v.float_value());
        return absl::OkStatus();
      case Value::Kind::kString:
        WriteString(v.str());
        return absl::OkStatus();
      case Value::Kind::kList:
      case Value::Kind::kDict:
        return WriteContainer(v, depth);
      default:
        return absl::FailedPreconditionError(
            absl::StrCat("Object of type ", v.TypeName(), " is not JSON serializable"));
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  void WriteFloat(double d) {
    if (std::isnan(d)) {
      out_ += "NaN";
    } else if (std::isinf(d)) {
      out_ += d > 0 ? "Infinity" : "-Infinity";
    } else {
      out_ += FormatFloat(d);
    }
  }

  void WriteString(std::string_view s) {
    out_ += '"';
    for (std::string_view c : CodePoints(s)) {
      const auto b = static_cast<unsigned char>(c[0]);
      switch (b) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        case '\b':
          out_ += "\\b";
          break;
        case '\f':
          out_ += "\\f";
          break;
        default:
          if (b < 0x20) {
            out_ += absl::StrFormat("\\u%04x", b);
          } else if (b >= 0x80 && format_.ensure_ascii) {
            WriteAsciiEscape(c);
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }

  // One non-ASCII code point as \uXXXX, or a surrogate pair above U+FFFF.
  void WriteAsciiEscape(std::string_view c) {
    uint32_t cp = static_cast<unsigned char>(c[0]) & (c.size() == 2   ? 0x1F
                                                      : c.size() == 3 ? 0x0F
                                                                      : 0x07);
    for (size_t i = 1; i < c.size(); ++i)
      cp = (cp << 6) | (static_cast<unsigned char>(c[i]) & 0x3F);
    if (cp < 0x10000) {
      out_ += absl::StrFormat("\\u%04x", cp);
      return;
    }
    cp -= 0x10000;
    out_ += absl::StrFormat("\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
  }

  // Before an item or a closing bracket at `depth`: a newline and the indent, when indenting.
  void WriteBreak(int depth) {
    if (!format_.indent.has_value()) return;
    out_ += '\n';
    for (int i = 0; i < depth; ++i) out_ += *format_.indent;
  }

  absl::Status WriteContainer(const Value& v, int depth) {
    const bool is_list = v.is_list();
    const size_t size = is_list ? v.list().items.size() : v.dict().entries.size();
    if (size == 0) {
      out_ += is_list ? "[]" : "{}";
      return absl::OkStatus();
    }
    std::vector<const std::pair<std::string, Value>*> entries;
    if (!is_list) {
      for (const auto& entry : v.dict().entries) entries.push_back(&entry);
      if (format_.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto* a, const auto* b) { return a->first < b->first; });
      }
    }
    out_ += is_list ? '[' : '{';
    for (size_t i = 0; i < size; ++i) {
      if (i > 0) out_ += item_separator_;
      WriteBreak(depth + 1);
      if (is_list) {
        CHAT_RETURN_IF_ERROR(Write(v.list().items[i], depth + 1));
      } else {
        WriteString(entries[i]->first);
        out_ += key_separator_;
        CHAT_RETURN_IF_ERROR(Write(entries[i]->second, depth + 1));
      }
    }
    WriteBreak(depth);
    out_ += is_list ? ']' : '}';
    return absl::OkStatus();
  }

  const JsonFormat& format_;
  std::string item_separator_;
  std::string key_separator_;
  std::string out_;
};

}  // namespace

absl::StatusOr<std::string> ToJson(const Value& value, const JsonFormat& format) {
  JsonWriter writer(format);
  CHAT_RETURN_IF_ERROR(writer.Write(value, 0));
  return writer.Take();
}

}  // namespace tgi::router::chat
