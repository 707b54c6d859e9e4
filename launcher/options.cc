#include "launcher/options.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "launcher/flag_docs.h"

namespace tgi::launcher {

namespace {

constexpr char kVersion[] = "text-generation-launcher 2.0.4";

// Environment variables whose value --help must not show.
bool IsSecretEnv(const std::string& env) { return env == "API_KEY" || env == "NGROK_AUTHTOKEN"; }

// "--max-input-tokens" -> "MAX_INPUT_TOKENS".
std::string EnvName(const std::string& flag) {
  std::string name = flag.substr(2);
  absl::StrReplaceAll({{"-", "_"}}, &name);
  return absl::AsciiStrToUpper(name);
}

// Registers each flag with CLI11 (value and environment variable) and records its help entry.
class Registrar {
 public:
  explicit Registrar(CLI::App& app) : app_(app) {}

  template <typename T>
  CLI::Option* Value(const std::string& flag, T& field) {
    const FlagText& text = FlagTextFor(flag);
    return Record(app_.add_option(Names(flag, text), field), flag, text, /*takes_value=*/true);
  }
  CLI::Option* Flag(const std::string& flag, bool& field) {
    const FlagText& text = FlagTextFor(flag);
    return Record(app_.add_flag(Names(flag, text), field), flag, text, /*takes_value=*/false);
  }
  const std::vector<FlagDoc>& docs() const { return docs_; }

 private:
  static std::string Names(const std::string& flag, const FlagText& text) {
    return text.short_name.empty() ? flag : text.short_name + "," + flag;
  }
  CLI::Option* Record(CLI::Option* option, const std::string& flag, const FlagText& text,
                      bool takes_value) {
    FlagDoc doc;
    doc.names = text.short_name.empty() ? "    " + flag : text.short_name + ", " + flag;
    doc.value_name = takes_value ? EnvName(flag) : "";
    doc.env = text.no_env ? "" : EnvName(flag);
    doc.text = text;
    if (!doc.env.empty()) option->envname(doc.env);
    if (text.hidden) option->group("");
    docs_.push_back(std::move(doc));
    return option;
  }

  CLI::App& app_;
  std::vector<FlagDoc> docs_;
};

// Registers every flag on `app`, bound to `o`.
void RegisterFlags(Registrar& r, LauncherOptions& o, std::vector<int64_t>& cuda_graphs,
                   CLI::Option*& cuda_graphs_option) {
  r.Value("--model-id", o.model_id);
  r.Value("--revision", o.revision);
  r.Value("--validation-workers", o.validation_workers)->check(CLI::NonNegativeNumber);
  r.Value("--sharded", o.sharded);
  r.Value("--num-shard", o.num_shard)->check(CLI::NonNegativeNumber);
  r.Value("--quantize", o.quantize)
      ->check(CLI::IsMember({"awq", "eetq", "gptq", "bitsandbytes", "bitsandbytes-nf4",
                             "bitsandbytes-fp4", "fp8", "exl2", "marlin"}));
  r.Value("--speculate", o.speculate)->check(CLI::NonNegativeNumber);
  r.Value("--dtype", o.dtype)->check(CLI::IsMember({"float16", "bfloat16", "float32"}));
  r.Value("--kv-cache-dtype", o.kv_cache_dtype)
      ->check(CLI::IsMember({"fp8_e4m3fn", "fp8_e5m2", "bfloat16", "float32"}));
  r.Flag("--trust-remote-code", o.trust_remote_code);
  r.Value("--max-concurrent-requests", o.max_concurrent_requests)->check(CLI::NonNegativeNumber);
  r.Value("--max-best-of", o.max_best_of)->check(CLI::NonNegativeNumber);
  r.Value("--max-stop-sequences", o.max_stop_sequences)->check(CLI::NonNegativeNumber);
  r.Value("--max-top-n-tokens", o.max_top_n_tokens)->check(CLI::NonNegativeNumber);
  r.Value("--max-input-tokens", o.max_input_tokens)->check(CLI::NonNegativeNumber);
  r.Value("--max-input-length", o.max_input_length)->check(CLI::NonNegativeNumber);
  r.Value("--max-total-tokens", o.max_total_tokens)->check(CLI::NonNegativeNumber);
  r.Value("--waiting-served-ratio", o.waiting_served_ratio);
  r.Value("--max-batch-prefill-tokens", o.max_batch_prefill_tokens)->check(CLI::NonNegativeNumber);
  r.Value("--max-batch-total-tokens", o.max_batch_total_tokens)->check(CLI::NonNegativeNumber);
  r.Value("--max-waiting-tokens", o.max_waiting_tokens)->check(CLI::NonNegativeNumber);
  r.Value("--max-prefill-chunk-tokens", o.max_prefill_chunk_tokens)
      ->check(CLI::NonNegativeNumber);
  r.Value("--max-batch-size", o.max_batch_size)->check(CLI::NonNegativeNumber);
  cuda_graphs_option = r.Value("--cuda-graphs", cuda_graphs);
  cuda_graphs_option->delimiter(',')->check(CLI::NonNegativeNumber);
  r.Value("--hostname", o.hostname);
  r.Value("--port", o.port)->check(CLI::Range(0, 65535));
  r.Value("--shard-uds-path", o.shard_uds_path);
  r.Value("--master-addr", o.master_addr);
  r.Value("--master-port", o.master_port)->check(CLI::Range(0, 65535));
  r.Value("--huggingface-hub-cache", o.huggingface_hub_cache);
  r.Value("--weights-cache-override", o.weights_cache_override);
  r.Flag("--disable-custom-kernels", o.disable_custom_kernels);
  r.Value("--cuda-memory-fraction", o.cuda_memory_fraction);
  r.Value("--rope-scaling", o.rope_scaling)->check(CLI::IsMember({"linear", "dynamic"}));
  r.Value("--rope-factor", o.rope_factor);
  r.Flag("--json-output", o.json_output);
  r.Value("--otlp-endpoint", o.otlp_endpoint);
  r.Value("--otlp-service-name", o.otlp_service_name);
  r.Value("--cors-allow-origin", o.cors_allow_origin);
  r.Value("--api-key", o.api_key);
  r.Value("--watermark-gamma", o.watermark_gamma);
  r.Value("--watermark-delta", o.watermark_delta);
  r.Flag("--ngrok", o.ngrok);
  r.Value("--ngrok-authtoken", o.ngrok_authtoken);
  r.Value("--ngrok-edge", o.ngrok_edge);
  r.Value("--tokenizer-config-path", o.tokenizer_config_path);
  r.Flag("--disable-grammar-support", o.disable_grammar_support);
  r.Flag("--env", o.env);
  r.Value("--max-client-batch-size", o.max_client_batch_size)->check(CLI::NonNegativeNumber);
  r.Value("--lora-adapters", o.lora_adapters);
  r.Value("--usage-stats", o.usage_stats)->check(CLI::IsMember({"on", "off", "no-stack"}));
  r.Value("--payload-limit", o.payload_limit)->check(CLI::NonNegativeNumber);
  r.Flag("--enable-prefill-logprobs", o.enable_prefill_logprobs);
  r.Value("--serving-properties", o.serving_properties);
  r.Value("--shard-startup-timeout", o.shard_startup_timeout)->check(CLI::PositiveNumber);
  r.Value("--graceful-termination-timeout", o.graceful_termination_timeout)
      ->check(CLI::NonNegativeNumber);
  r.Flag("--print-config", o.print_config);
}

// clap's long help: each flag, its paragraphs, then [env: …], [default: …], [possible values: …].
std::string RenderHelp(const std::vector<FlagDoc>& docs) {
  std::ostringstream out;
  out << "Text Generation Launcher\n\nUsage: text-generation-launcher [OPTIONS]\n\nOptions:\n";
  const std::string indent(10, ' ');
  for (const FlagDoc& doc : docs) {
    if (doc.text.hidden) continue;
    out << "  " << doc.names;
    if (!doc.value_name.empty()) out << " <" << doc.value_name << ">";
    out << "\n";
    std::istringstream help(doc.text.help);
    std::string line;
    while (std::getline(help, line)) out << indent << line << "\n";
    std::vector<std::string> notes;
    if (!doc.env.empty()) {
      const char* value = std::getenv(doc.env.c_str());
      const std::string shown = value == nullptr || IsSecretEnv(doc.env) ? "" : value;
      notes.push_back("[env: " + doc.env + "=" + shown + "]");
    }
    if (!doc.text.default_text.empty()) notes.push_back("[default: " + doc.text.default_text + "]");
    if (!doc.text.possible_values.empty()) {
      notes.push_back("[possible values: " + doc.text.possible_values + "]");
    }
    if (!notes.empty()) out << indent << "\n";
    for (const std::string& note : notes) out << indent << note << "\n";
    out << "\n";
  }
  out << "  -h, --help\n" << indent << "Print help\n\n";
  out << "  -V, --version\n" << indent << "Print version\n";
  return out.str();
}

std::string UsageError(const std::string& message) {
  return "error: " + message +
         "\n\nUsage: text-generation-launcher [OPTIONS]\n\nFor more information, try '--help'.\n";
}

}  // namespace

ParsedCommandLine ParseCommandLine(int argc, const char* const* argv) {
  ParsedCommandLine result;
  CLI::App app{"Text Generation Launcher", "text-generation-launcher"};
  app.set_help_flag();  // help is rendered here, clap-style
  bool help = false, version = false;
  app.add_flag("-h,--help", help);
  app.add_flag("-V,--version", version);
  Registrar registrar(app);
  std::vector<int64_t> cuda_graphs;
  CLI::Option* cuda_graphs_option = nullptr;
  RegisterFlags(registrar, result.options, cuda_graphs, cuda_graphs_option);

  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) args.emplace_back(argv[i]);
  try {
    app.parse(args);
  } catch (const CLI::ExtrasError& error) {
    // CLI11 lists every extra after a colon; clap names the first one.
    const std::string message = error.what();
    const size_t colon = message.find(": ");
    std::string first = colon == std::string::npos ? message : message.substr(colon + 2);
    first = first.substr(0, first.find(' '));
    result.exit_now = true;
    result.exit_code = 2;
    result.err = UsageError("unexpected argument '" + first + "' found");
    return result;
  } catch (const CLI::ParseError& error) {
    result.exit_now = true;
    result.exit_code = 2;
    result.err = UsageError(error.what());
    return result;
  }
  if (help) {
    result.exit_now = true;
    result.out = RenderHelp(registrar.docs());
    return result;
  }
  if (version) {
    result.exit_now = true;
    result.out = std::string(kVersion) + "\n";
    return result;
  }
  if (cuda_graphs_option->count() > 0) result.options.cuda_graphs = cuda_graphs;
  return result;
}

std::vector<std::string> FlagEnvironmentNames() {
  CLI::App app;
  Registrar registrar(app);
  LauncherOptions options;
  std::vector<int64_t> cuda_graphs;
  CLI::Option* cuda_graphs_option = nullptr;
  RegisterFlags(registrar, options, cuda_graphs, cuda_graphs_option);
  std::vector<std::string> names;
  for (const FlagDoc& doc : registrar.docs()) {
    if (!doc.env.empty()) names.push_back(doc.env);
  }
  return names;
}

}  // namespace tgi::launcher
