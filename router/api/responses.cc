#include "router/api/responses.h"

#include <algorithm>

#include "router/api/json_writer.h"
#include "router/api/rust_format.h"

namespace tgi::router {
namespace {

// Token / PrefillToken: {"id","text","logprob"(,"special")}.
void WriteToken(JsonWriter& w, const Token& token, bool with_special) {
  w.BeginObject().Key("id").Uint(token.id).Key("text").String(token.text);
  w.Key("logprob").F32(token.logprob);
  if (with_special) w.Key("special").Bool(token.special);
  w.EndObject();
}

void WriteTokens(JsonWriter& w, const std::vector<Token>& tokens, bool with_special) {
  w.BeginArray();
  for (const Token& token : tokens) WriteToken(w, token, with_special);
  w.EndArray();
}

void WriteSeed(JsonWriter& w, const std::optional<uint64_t>& seed) {
  w.Key("seed");
  if (seed) {
    w.Uint(*seed);
  } else {
    w.Null();
  }
}

void WriteTopTokensIfAny(JsonWriter& w, const std::vector<std::vector<Token>>& top_tokens) {
  if (top_tokens.empty()) return;
  w.Key("top_tokens").BeginArray();
  for (const std::vector<Token>& step : top_tokens) WriteTokens(w, step, true);
  w.EndArray();
}

std::string WithPrompt(const std::optional<std::string>& prompt, const std::string& text) {
  return prompt ? *prompt + text : text;
}

// BestOfSequence: generated_text, finish_reason, generated_tokens, seed, prefill, tokens,
// top_tokens (omitted when empty).
void WriteBestOfSequence(JsonWriter& w, const GenerationOutput& output,
                         const std::optional<std::string>& prompt) {
  const GeneratedText& generated = output.generated_text;
  w.BeginObject();
  w.Key("generated_text").String(WithPrompt(prompt, generated.text));
  w.Key("finish_reason").String(FinishReasonText(generated.finish_reason));
  w.Key("generated_tokens").Uint(generated.generated_tokens);
  WriteSeed(w, generated.seed);
  w.Key("prefill");
  WriteTokens(w, output.prefill, false);
  w.Key("tokens");
  WriteTokens(w, output.tokens, true);
  WriteTopTokensIfAny(w, output.top_tokens);
  w.EndObject();
}

// GenerateResponse: generated_text, details? {finish_reason, generated_tokens, seed, prefill,
// tokens, best_of_sequences?, top_tokens?}.
void WriteGenerateResponse(JsonWriter& w, const GenerationOutput& output,
                           const GenerateResponseOptions& options,
                           const std::vector<GenerationOutput>* best_of_sequences) {
  const GeneratedText& generated = output.generated_text;
  w.BeginObject();
  w.Key("generated_text").String(WithPrompt(options.prompt, generated.text));
  if (options.details) {
    w.Key("details").BeginObject();
    w.Key("finish_reason").String(FinishReasonText(generated.finish_reason));
    w.Key("generated_tokens").Uint(generated.generated_tokens);
    WriteSeed(w, generated.seed);
    w.Key("prefill");
    WriteTokens(w, output.prefill, false);
    w.Key("tokens");
    WriteTokens(w, output.tokens, true);
    if (best_of_sequences != nullptr) {
      w.Key("best_of_sequences").BeginArray();
      for (const GenerationOutput& sequence : *best_of_sequences) {
        WriteBestOfSequence(w, sequence, options.prompt);
      }
      w.EndArray();
    }
    WriteTopTokensIfAny(w, output.top_tokens);
    w.EndObject();
  }
  w.EndObject();
}

// StreamResponse: index, token, top_tokens (omitted when empty), generated_text, details.
void BeginStreamEvent(JsonWriter& w, uint32_t index, const Token& token,
                      const std::vector<Token>& top_tokens) {
  w.BeginObject().Key("index").Uint(index).Key("token");
  WriteToken(w, token, true);
  if (!top_tokens.empty()) {
    w.Key("top_tokens");
    WriteTokens(w, top_tokens, true);
  }
}

}  // namespace

std::string_view FinishReasonText(FinishReason reason) {
  switch (reason) {
    case FinishReason::kLength:
      return "length";
    case FinishReason::kEosToken:
      return "eos_token";
    case FinishReason::kStopSequence:
      return "stop_sequence";
  }
  return "length";
}

std::string GenerateResponseJson(const GenerationOutput& output,
                                 const GenerateResponseOptions& options,
                                 const std::vector<GenerationOutput>* best_of_sequences) {
  JsonWriter w;
  WriteGenerateResponse(w, output, options, best_of_sequences);
  return w.Take();
}

std::string CompatGenerateResponseJson(const GenerationOutput& output,
                                       const GenerateResponseOptions& options,
                                       const std::vector<GenerationOutput>* best_of_sequences) {
  JsonWriter w;
  w.BeginArray();
  WriteGenerateResponse(w, output, options, best_of_sequences);
  w.EndArray();
  return w.Take();
}

std::string StreamTokenEventJson(uint32_t index, const Token& token,
                                 const std::vector<Token>& top_tokens) {
  JsonWriter w;
  BeginStreamEvent(w, index, token, top_tokens);
  w.Key("generated_text").Null().Key("details").Null().EndObject();
  return w.Take();
}

std::string StreamEndEventJson(uint32_t index, const EndEvent& end, bool details,
                               const std::optional<std::string>& prompt) {
  const GeneratedText& generated = end.generated_text;
  JsonWriter w;
  BeginStreamEvent(w, index, end.token, end.top_tokens);
  w.Key("generated_text").String(WithPrompt(prompt, generated.text));
  w.Key("details");
  if (details) {
    w.BeginObject();
    w.Key("finish_reason").String(FinishReasonText(generated.finish_reason));
    w.Key("generated_tokens").Uint(generated.generated_tokens);
    WriteSeed(w, generated.seed);
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
  return w.Take();
}

std::string InfoJson(const Info& info) {
  const auto optional_string = [](JsonWriter& w, const std::optional<std::string>& value) {
    if (value) {
      w.String(*value);
    } else {
      w.Null();
    }
  };
  JsonWriter w;
  w.BeginObject();
  w.Key("model_id").String(info.model_id);
  w.Key("model_sha");
  optional_string(w, info.model_sha);
  w.Key("model_dtype").String(info.model_dtype);
  w.Key("model_device_type").String(info.model_device_type);
  w.Key("model_pipeline_tag");
  optional_string(w, info.model_pipeline_tag);
  w.Key("max_concurrent_requests").Uint(info.max_concurrent_requests);
  w.Key("max_best_of").Uint(info.max_best_of);
  w.Key("max_stop_sequences").Uint(info.max_stop_sequences);
  w.Key("max_input_length").Uint(info.max_input_length);
  w.Key("max_total_tokens").Uint(info.max_total_tokens);
  w.Key("waiting_served_ratio").F32(info.waiting_served_ratio);
  w.Key("max_batch_total_tokens").Uint(info.max_batch_total_tokens);
  w.Key("max_waiting_tokens").Uint(info.max_waiting_tokens);
  w.Key("max_batch_size");
  if (info.max_batch_size) {
    w.Uint(*info.max_batch_size);
  } else {
    w.Null();
  }
  w.Key("validation_workers").Uint(info.validation_workers);
  w.Key("max_client_batch_size").Uint(info.max_client_batch_size);
  w.Key("router").String(info.router);
  w.Key("version").String(info.version);
  w.Key("sha");
  optional_string(w, info.sha);
  w.Key("docker_label");
  optional_string(w, info.docker_label);
  w.EndObject();
  return w.Take();
}

std::string TokenizeResponseJson(std::string_view input, const std::vector<TokenOffsets>& tokens) {
  JsonWriter w;
  w.BeginArray();
  for (const TokenOffsets& token : tokens) {
    const size_t start = std::min(token.start, input.size());
    const size_t stop = std::clamp(token.stop, start, input.size());
    w.BeginObject().Key("id").Uint(token.id);
    w.Key("text").String(rust_format::Utf8Lossy(input.substr(start, stop - start)));
    w.Key("start").Uint(token.start).Key("stop").Uint(token.stop).EndObject();
  }
  w.EndArray();
  return w.Take();
}

}  // namespace tgi::router
