#include "router/api/errors.h"

#include <gtest/gtest.h>

#include <string>

namespace tgi::router {
namespace {

struct ErrorCase {
  std::string name;
  absl::Status status;
  int http_status;
  std::string content_type;
  std::string body;
};

class ErrorTableTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ErrorTableTest, MapsToTgiResponse) {
  const ErrorCase& c = GetParam();
  const HttpError error = ToHttpError(c.status);
  EXPECT_EQ(error.status, c.http_status);
  EXPECT_EQ(error.content_type, c.content_type);
  EXPECT_EQ(error.body, c.body);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, ErrorTableTest,
    testing::Values(
        ErrorCase{"Validation", ValidationError("`inputs` cannot be empty"), 422,
                  "application/json",
                  R"({"error":"Input validation error: `inputs` cannot be empty",)"
                  R"("error_type":"validation"})"},
        ErrorCase{"Overloaded", OverloadedError(), 429, "application/json",
                  R"({"error":"Model is overloaded","error_type":"overloaded"})"},
        ErrorCase{"Generation", GenerationError("CUDA out of memory"), 424, "application/json",
                  R"({"error":"Request failed during generation: Server error: CUDA out of )"
                  R"(memory","error_type":"generation"})"},
        ErrorCase{"GenerationAlreadyPrefixed",
                  GenerationError("Request failed during generation: Server error: boom"), 424,
                  "application/json",
                  R"({"error":"Request failed during generation: Server error: boom",)"
                  R"("error_type":"generation"})"},
        ErrorCase{"Incomplete", IncompleteGenerationError(), 500, "application/json",
                  R"({"error":"Incomplete generation","error_type":"incomplete_generation"})"},
        ErrorCase{"Unhealthy", UnhealthyError(), 503, "application/json",
                  R"({"error":"unhealthy","error_type":"healthcheck"})"},
        ErrorCase{"NoFastTokenizer", NoFastTokenizerError(), 404, "application/json",
                  R"({"error":"No fast tokenizer or tokenizer.json for this model",)"
                  R"("error_type":"no fast tokenizer"})"},
        ErrorCase{"Template", MakeError(ErrorKind::kTemplate, "Template error: x"), 422,
                  "application/json",
                  R"({"error":"Template error: x","error_type":"template_error"})"},
        ErrorCase{"PayloadTooLarge", PayloadTooLargeError(), 413, "text/plain; charset=utf-8",
                  "Failed to buffer the request body: length limit exceeded"},
        ErrorCase{"PlainStatus", absl::InternalError("oops"), 500, "application/json",
                  R"({"error":"oops","error_type":"internal"})"}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

TEST(ErrorsTest, KindSurvivesCopies) {
  const absl::Status status = ValidationError("x");
  const absl::Status copy = status;
  EXPECT_EQ(KindOf(copy), ErrorKind::kValidation);
  EXPECT_EQ(copy.message(), "Input validation error: x");
  EXPECT_EQ(KindOf(absl::OkStatus()), ErrorKind::kInternal);
}

TEST(ErrorsTest, StreamErrorEvent) {
  EXPECT_EQ(
      StreamErrorJson(ValidationError("`best_of` != 1 is not supported when streaming tokens")),
      R"({"error":"Input validation error: `best_of` != 1 is not supported when streaming )"
      R"(tokens","error_type":"validation"})");
  EXPECT_EQ(StreamErrorJson(IncompleteGenerationError()),
            R"({"error":"Incomplete generation","error_type":"incomplete_generation"})");
}

}  // namespace
}  // namespace tgi::router
