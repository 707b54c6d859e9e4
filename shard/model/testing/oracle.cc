#include "shard/model/testing/oracle.h"

#include <bit>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tgi::shard::testing {
namespace {

namespace json = boost::json;

absl::StatusOr<std::vector<int64_t>> IdList(const json::object& object, const std::string& key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("oracle case: '", key, "' is not a list"));
  }
  std::vector<int64_t> ids;
  for (const json::value& id : value->as_array()) {
    if (!id.is_int64()) return absl::InvalidArgumentError(absl::StrCat("oracle: bad id in ", key));
    ids.push_back(id.as_int64());
  }
  return ids;
}

absl::StatusOr<std::vector<float>> ReadFloats(const std::filesystem::path& path, size_t count) {
  static_assert(std::endian::native == std::endian::little, "logits files are little-endian");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  const auto size = static_cast<size_t>(in.tellg());
  if (size != count * sizeof(float)) {
    return absl::DataLossError(
        absl::StrCat(path.string(), ": ", size, " bytes, expected ", count * sizeof(float)));
  }
  std::vector<float> values(count);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(size));
  if (!in) return absl::DataLossError(absl::StrCat("cannot read ", path.string()));
  return values;
}

}  // namespace

std::filesystem::path ModelsDir() { return TGI_MODELS_DIR; }
std::filesystem::path TestdataDir() { return TGI_TESTDATA_DIR; }

absl::StatusOr<std::vector<OracleCase>> LoadOracle(const std::filesystem::path& json_path,
                                                   const std::filesystem::path& logits_dir,
                                                   int64_t vocab) {
  std::ifstream in(json_path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", json_path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value root = json::parse(text.str(), ec);
  if (ec || !root.is_object() || !root.as_object().contains("cases") ||
      !root.as_object().at("cases").is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(json_path.string(), ": no 'cases' list"));
  }
  std::vector<OracleCase> cases;
  for (const json::value& value : root.as_object().at("cases").as_array()) {
    if (!value.is_object()) return absl::InvalidArgumentError("oracle: a case is not an object");
    const json::object& object = value.as_object();
    OracleCase oracle_case;
    if (const json::value* name = object.if_contains("name"); name && name->is_string()) {
      oracle_case.name = std::string(name->as_string());
    }
    absl::StatusOr<std::vector<int64_t>> prompt = IdList(object, "prompt_tokens_with_bos");
    if (!prompt.ok()) return prompt.status();
    absl::StatusOr<std::vector<int64_t>> generated = IdList(object, "generated_tokens");
    if (!generated.ok()) return generated.status();
    oracle_case.prompt_tokens = std::move(*prompt);
    oracle_case.generated_tokens = std::move(*generated);
    if (const json::value* stopped = object.if_contains("stopped_on_bos");
        stopped && stopped->is_bool()) {
      oracle_case.stopped_on_bos = stopped->as_bool();
    }
    if (const json::value* file = object.if_contains("logits_file"); file && file->is_string()) {
      absl::StatusOr<std::vector<float>> logits =
          ReadFloats(logits_dir / std::string(file->as_string()),
                     oracle_case.generated_tokens.size() * static_cast<size_t>(vocab));
      if (!logits.ok()) return logits.status();
      oracle_case.logits = std::move(*logits);
    }
    cases.push_back(std::move(oracle_case));
  }
  return cases;
}

absl::StatusOr<std::vector<OracleCase>> LoadStories260KOracle() {
  const std::filesystem::path dir = TestdataDir() / "oracle";
  return LoadOracle(dir / "stories260K_greedy.json", dir / "stories260K_logits", 512);
}

}  // namespace tgi::shard::testing
