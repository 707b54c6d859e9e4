#include "shard/service/options.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/env.h"
#include "common/gaudi_env.h"

namespace tgi::shard {

namespace {

// Reads every environment variable of the shard into `options`; the command line is applied after.
absl::Status ReadEnvironment(ShardOptions& options) {
  using common::GetEnvDouble;
  using common::GetEnvInt;
  struct IntVar {
    const char* name;
    int64_t* field;
    int64_t min;
  };
  int64_t rank = options.rank, world_size = options.world_size, port = options.master_port;
  for (const IntVar& var : {IntVar{"RANK", &rank, 0}, IntVar{"WORLD_SIZE", &world_size, 1},
                            IntVar{"MASTER_PORT", &port, 1},
                            IntVar{"MAX_TOTAL_TOKENS", &options.max_total_tokens, 2}}) {
    absl::StatusOr<int64_t> value = GetEnvInt(var.name, *var.field);
    if (!value.ok()) return value.status();
    if (*value < var.min) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", var.name, " must be >= ", var.min, ", got ", *value));
    }
    *var.field = *value;
  }
  options.rank = static_cast<int>(rank);
  options.world_size = static_cast<int>(world_size);
  options.master_port = static_cast<int>(port);
  options.master_addr = common::GetEnvString("MASTER_ADDR", options.master_addr);
  options.kv_cache_dtype = common::GetEnvString("KV_CACHE_DTYPE", options.kv_cache_dtype);

  // The variables the router reads too, with the same (TGI's) rules.
  absl::StatusOr<common::GaudiEnv> gaudi = common::ReadGaudiEnv();
  if (!gaudi.ok()) return gaudi.status();
  options.batch_bucket_size = gaudi->batch_bucket_size;
  options.prefill_batch_bucket_size = gaudi->prefill_batch_bucket_size;
  options.pad_sequence_to_multiple_of = gaudi->pad_sequence_to_multiple_of;
  options.skip_tokenizer = gaudi->skip_tokenizer;
  options.ignore_eos = gaudi->ignore_eos_token;
  for (auto [name, field] : {std::pair{"WATERMARK_GAMMA", &options.watermark_gamma},
                             std::pair{"WATERMARK_DELTA", &options.watermark_delta}}) {
    absl::StatusOr<double> value = GetEnvDouble(name, *field);
    if (!value.ok()) return value.status();
    *field = *value;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ShardOptions> ParseShardOptions(int argc, char** argv) {
  ShardOptions options;
  if (absl::Status status = ReadEnvironment(options); !status.ok()) return status;

  CLI::App app{"text-generation-shard: serves one rank of a model over TGI's generate.v2 gRPC "
               "protocol on a unix socket",
               "text-generation-shard"};
  app.allow_extras(false);
  std::string serve_word;
  app.add_option("model_dir", options.model_dir,
                 "Hugging Face model directory (config.json, safetensors, tokenizer.json)")
      ->required();
  app.add_option("--uds-path", options.uds_path,
                 "Socket path prefix; the shard listens on {uds-path}-{rank}")
      ->capture_default_str();
  app.add_option("--dtype", options.dtype, "float32, bfloat16 or float16 (CPU: as bfloat16)")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  app.add_option("--kv-cache-dtype", options.kv_cache_dtype,
                 "KV cache dtype: auto (the model's), bfloat16 or float32 [env KV_CACHE_DTYPE]")
      ->check(CLI::IsMember({"auto", "bfloat16", "float32"}))
      ->capture_default_str();
  app.add_option("--max-total-tokens", options.max_total_tokens,
                 "Longest sequence (prompt + generated) a request may reach [env MAX_TOTAL_TOKENS]")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 24))
      ->capture_default_str();
  app.add_option("--num-threads", options.num_threads,
                 "Intra-op threads (default: every CPU this process may run on)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--json-output", options.json_output, "Log JSON lines");
  app.add_option("--logger-level", options.log_level, "trace, debug, info, warn or error")
      ->capture_default_str();
  // Accepted for compatibility with TGI's shard command line; they change nothing here.
  bool ignored_flag = false;
  std::string ignored_value;
  app.add_flag("--sharded,--trust-remote-code", ignored_flag, "Accepted for TGI compatibility");
  app.add_option("--revision,--otlp-endpoint", ignored_value, "Accepted for TGI compatibility");

  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) args.emplace_back(argv[i]);
  if (!args.empty() && args.back() == "serve") args.pop_back();
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return absl::CancelledError("help");
  } catch (const CLI::ParseError& error) {
    return absl::InvalidArgumentError(error.what());
  }
  return options;
}

}  // namespace tgi::shard
