#include "router/api/chat_responses.h"

#include "router/api/json_writer.h"

namespace tgi::router {
namespace {

void WriteHeader(JsonWriter& w, const ChatContext& context, std::string_view object) {
  w.Key("id").String("").Key("object").String(object);
  w.Key("created").Int(context.created).Key("model").String(context.model);
  w.Key("system_fingerprint").String(context.system_fingerprint);
}

// ChatCompletionLogprob: {"token","logprob","top_logprobs":[{"token","logprob"}]}.
void WriteLogprob(JsonWriter& w, const Token& token, const std::vector<Token>* top_tokens) {
  w.BeginObject().Key("token").String(token.text).Key("logprob").F32(token.logprob);
  w.Key("top_logprobs").BeginArray();
  if (top_tokens != nullptr) {
    for (const Token& top : *top_tokens) {
      w.BeginObject().Key("token").String(top.text).Key("logprob").F32(top.logprob).EndObject();
    }
  }
  w.EndArray().EndObject();
}

void WriteUsage(JsonWriter& w, const Usage& usage) {
  w.BeginObject().Key("prompt_tokens").Uint(usage.prompt_tokens);
  w.Key("completion_tokens").Uint(usage.completion_tokens);
  w.Key("total_tokens").Uint(usage.prompt_tokens + usage.completion_tokens).EndObject();
}

}  // namespace

std::string_view ChatFinishReason(FinishReason reason) {
  return reason == FinishReason::kEosToken ? "stop" : FinishReasonText(reason);
}

std::string SystemFingerprint(const Info& info) {
  return info.version + "-" + info.docker_label.value_or("native");
}

std::string ChatCompletionJson(const ChatContext& context, const GenerationOutput& output,
                               uint32_t prompt_tokens) {
  const GeneratedText& generated = output.generated_text;
  JsonWriter w;
  w.BeginObject();
  WriteHeader(w, context, "chat.completion");
  w.Key("choices").BeginArray().BeginObject().Key("index").Uint(0);
  w.Key("message").BeginObject().Key("role").String("assistant");
  w.Key("content").String(generated.text).EndObject();
  w.Key("logprobs");
  if (context.logprobs) {
    w.BeginObject().Key("content").BeginArray();
    for (size_t i = 0; i < output.tokens.size(); ++i) {
      WriteLogprob(w, output.tokens[i],
                   i < output.top_tokens.size() ? &output.top_tokens[i] : nullptr);
    }
    w.EndArray().EndObject();
  } else {
    w.Null();
  }
  w.Key("finish_reason").String(ChatFinishReason(generated.finish_reason));
  w.EndObject().EndArray();
  w.Key("usage");
  WriteUsage(w, Usage{prompt_tokens, generated.generated_tokens});
  w.EndObject();
  return w.Take();
}

std::string ChatCompletionChunkJson(const ChatContext& context, const Token& token,
                                    const std::vector<Token>& top_tokens,
                                    std::optional<FinishReason> finish,
                                    const std::optional<Usage>& usage) {
  JsonWriter w;
  w.BeginObject();
  WriteHeader(w, context, "chat.completion.chunk");
  w.Key("choices").BeginArray().BeginObject().Key("index").Uint(0);
  w.Key("delta").BeginObject().Key("role").String("assistant");
  w.Key("content").String(token.special ? "" : token.text).EndObject();
  w.Key("logprobs");
  if (context.logprobs) {
    w.BeginObject().Key("content").BeginArray();
    WriteLogprob(w, token, &top_tokens);
    w.EndArray().EndObject();
  } else {
    w.Null();
  }
  w.Key("finish_reason");
  if (finish) {
    w.String(ChatFinishReason(*finish));
  } else {
    w.Null();
  }
  w.EndObject().EndArray();
  w.Key("usage");
  if (usage) {
    WriteUsage(w, *usage);
  } else {
    w.Null();
  }
  w.EndObject();
  return w.Take();
}

std::string ModelsJson(std::string_view model_id) {
  JsonWriter w;
  w.BeginObject().Key("object").String("list").Key("data").BeginArray().BeginObject();
  w.Key("id").String(model_id).Key("object").String("model").Key("created").Uint(0);
  w.Key("owned_by").String(model_id).EndObject().EndArray().EndObject();
  return w.Take();
}

}  // namespace tgi::router
