#include "router/api/errors.h"

#include <array>
#include <string>

#include "absl/strings/cord.h"
#include "router/api/json_writer.h"

namespace tgi::router {
namespace {

constexpr std::string_view kKindPayloadUrl = "tgi.router/ErrorKind";
constexpr std::string_view kGenerationPrefix = "Request failed during generation: ";

struct KindRow {
  ErrorKind kind;
  std::string_view name;  // payload value
  ErrorSpec spec;
};

// The table: every kind, its HTTP status, error_type and body form.
constexpr std::array<KindRow, 15> kTable = {{
    {ErrorKind::kBodySyntax, "body_syntax", {400, "", false, absl::StatusCode::kInvalidArgument}},
    {ErrorKind::kBodyData, "body_data", {422, "", false, absl::StatusCode::kInvalidArgument}},
    {ErrorKind::kUnsupportedMediaType,
     "unsupported_media_type",
     {415, "", false, absl::StatusCode::kInvalidArgument}},
    {ErrorKind::kPayloadTooLarge,
     "payload_too_large",
     {413, "", false, absl::StatusCode::kResourceExhausted}},
    {ErrorKind::kValidation,
     "validation",
     {422, "validation", true, absl::StatusCode::kInvalidArgument}},
    {ErrorKind::kOverloaded,
     "overloaded",
     {429, "overloaded", true, absl::StatusCode::kResourceExhausted}},
    {ErrorKind::kGeneration, "generation", {424, "generation", true, absl::StatusCode::kInternal}},
    {ErrorKind::kIncompleteGeneration,
     "incomplete_generation",
     {500, "incomplete_generation", true, absl::StatusCode::kInternal}},
    {ErrorKind::kHealthcheck,
     "healthcheck",
     {503, "healthcheck", true, absl::StatusCode::kUnavailable}},
    {ErrorKind::kNoFastTokenizer,
     "no_fast_tokenizer",
     {404, "no fast tokenizer", true, absl::StatusCode::kNotFound}},
    {ErrorKind::kTemplate,
     "template_error",
     {422, "template_error", true, absl::StatusCode::kInvalidArgument}},
    {ErrorKind::kTool, "tool_error", {422, "tool_error", true, absl::StatusCode::kInvalidArgument}},
    {ErrorKind::kSuffixNotSupported,
     "suffix_not_supported",
     {422, "suffix not supported", true, absl::StatusCode::kInvalidArgument}},
    {ErrorKind::kBatchSizeExceeded,
     "batch_size_exceeded",
     {422, "batch size exceeded", true, absl::StatusCode::kInvalidArgument}},
    {ErrorKind::kInternal, "internal", {500, "internal", true, absl::StatusCode::kInternal}},
}};

const KindRow& RowOf(ErrorKind kind) {
  for (const KindRow& row : kTable) {
    if (row.kind == kind) return row;
  }
  return kTable.back();
}

}  // namespace

const ErrorSpec& SpecOf(ErrorKind kind) { return RowOf(kind).spec; }

absl::Status MakeError(ErrorKind kind, std::string_view message) {
  const KindRow& row = RowOf(kind);
  absl::Status status(row.spec.code, std::string(message));
  status.SetPayload(std::string(kKindPayloadUrl), absl::Cord(std::string(row.name)));
  return status;
}

ErrorKind KindOf(const absl::Status& status) {
  const auto payload = status.GetPayload(std::string(kKindPayloadUrl));
  if (!payload) return ErrorKind::kInternal;
  const std::string name(*payload);
  for (const KindRow& row : kTable) {
    if (row.name == name) return row.kind;
  }
  return ErrorKind::kInternal;
}

absl::Status ValidationError(std::string_view message) {
  return MakeError(ErrorKind::kValidation, "Input validation error: " + std::string(message));
}

absl::Status OverloadedError() { return MakeError(ErrorKind::kOverloaded, "Model is overloaded"); }

absl::Status GenerationError(std::string_view server_error) {
  if (server_error.substr(0, kGenerationPrefix.size()) == kGenerationPrefix) {
    return MakeError(ErrorKind::kGeneration, server_error);
  }
  std::string message(kGenerationPrefix);
  message += "Server error: ";
  message += server_error;
  return MakeError(ErrorKind::kGeneration, message);
}

absl::Status IncompleteGenerationError() {
  return MakeError(ErrorKind::kIncompleteGeneration, "Incomplete generation");
}

absl::Status UnhealthyError() { return MakeError(ErrorKind::kHealthcheck, "unhealthy"); }

absl::Status TemplateError(std::string_view message) {
  return MakeError(ErrorKind::kTemplate, "Template error: " + std::string(message));
}

absl::Status TemplateNotFoundError() { return TemplateError("template not found"); }

absl::Status NoFastTokenizerError() {
  return MakeError(ErrorKind::kNoFastTokenizer,
                   "No fast tokenizer or tokenizer.json for this model");
}

absl::Status UnsupportedMediaTypeError() {
  return MakeError(ErrorKind::kUnsupportedMediaType,
                   "Expected request with `Content-Type: application/json`");
}

absl::Status PayloadTooLargeError() {
  return MakeError(ErrorKind::kPayloadTooLarge,
                   "Failed to buffer the request body: length limit exceeded");
}

std::string ErrorBodyJson(std::string_view error, std::string_view error_type) {
  JsonWriter writer;
  writer.BeginObject().Key("error").String(error).Key("error_type").String(error_type).EndObject();
  return writer.Take();
}

HttpError ToHttpError(const absl::Status& status) {
  const ErrorSpec& spec = SpecOf(KindOf(status));
  const std::string message(status.message());
  if (!spec.json_body) return {spec.http_status, "text/plain; charset=utf-8", message};
  return {spec.http_status, "application/json", ErrorBodyJson(message, spec.error_type)};
}

std::string StreamErrorJson(const absl::Status& status) {
  const ErrorSpec& spec = SpecOf(KindOf(status));
  return ErrorBodyJson(std::string(status.message()), spec.error_type);
}

}  // namespace tgi::router
