// The router's error kinds and the one table that maps each to what a client receives: HTTP
// status, `error_type`, and whether the body is TGI's JSON error ({"error","error_type"}) or
// axum's plain text. Errors travel as absl::Status with the kind attached as a payload; this
// module builds and reads them. It must not decide when an error happens.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace tgi::router {

enum class ErrorKind {
  kBodySyntax,            // 400, plain text: malformed JSON body
  kBodyData,              // 422, plain text: JSON of the wrong shape
  kUnsupportedMediaType,  // 415, plain text: Content-Type is not JSON
  kPayloadTooLarge,       // 413, plain text: body over the limit
  kValidation,            // 422 validation
  kOverloaded,            // 429 overloaded
  kGeneration,            // 424 generation
  kIncompleteGeneration,  // 500 incomplete_generation
  kHealthcheck,           // 503 healthcheck
  kNoFastTokenizer,       // 404 "no fast tokenizer"
  kTemplate,              // 422 template_error
  kTool,                  // 422 tool_error
  kSuffixNotSupported,    // 422 "suffix not supported"
  kBatchSizeExceeded,     // 422 "batch size exceeded"
  kInternal,              // 500 internal: any status that carries no kind
};

struct ErrorSpec {
  int http_status;
  std::string_view error_type;  // TGI's error_type; empty for the plain-text kinds
  bool json_body;               // {"error","error_type"} (else the message as text/plain)
  absl::StatusCode code;        // the absl code the status carries
};

const ErrorSpec& SpecOf(ErrorKind kind);

// A status of `kind` whose message is exactly the client-visible error text.
absl::Status MakeError(ErrorKind kind, std::string_view message);
// The kind attached to `status`; kInternal when it has none (and for OK).
ErrorKind KindOf(const absl::Status& status);

// Constructors for the fixed TGI texts.
absl::Status ValidationError(std::string_view message);  // "Input validation error: {message}"
absl::Status OverloadedError();                          // "Model is overloaded"
// "Request failed during generation: Server error: {server_error}"; a message that already
// starts with "Request failed during generation: " is kept as it is.
absl::Status GenerationError(std::string_view server_error);
absl::Status IncompleteGenerationError();  // "Incomplete generation"
absl::Status UnhealthyError();             // "unhealthy"
absl::Status NoFastTokenizerError();       // "No fast tokenizer or tokenizer.json for this model"
absl::Status TemplateError(std::string_view message);  // "Template error: {message}"
absl::Status TemplateNotFoundError();                  // "Template error: template not found"
absl::Status
UnsupportedMediaTypeError();          // "Expected request with `Content-Type: application/json`"
absl::Status PayloadTooLargeError();  // "Failed to buffer the request body: length limit exceeded"

// {"error":"...","error_type":"..."}
std::string ErrorBodyJson(std::string_view error, std::string_view error_type);

// What the HTTP layer sends for a failed request.
struct HttpError {
  int status;
  std::string content_type;  // "application/json" or "text/plain; charset=utf-8"
  std::string body;
};
HttpError ToHttpError(const absl::Status& status);

// The error event of an SSE stream: the JSON body whatever the kind (body rejections, the
// plain-text kinds, are answered before a stream starts and never get here).
std::string StreamErrorJson(const absl::Status& status);

}  // namespace tgi::router
