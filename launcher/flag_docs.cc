#include "launcher/flag_docs.h"

#include <cstdio>
#include <cstdlib>
#include <map>

namespace tgi::launcher {

namespace {

const std::map<std::string, FlagText>& Table() {
  static const auto* table = new std::map<std::string, FlagText>{
      {"--model-id",
       {"The name of the model to load. Can be a MODEL_ID as listed on <https://hf.co/models> "
        "like `gpt2` or `OpenAssistant/oasst-sft-1-pythia-12b`. Or it can be a local directory "
        "containing the necessary files as saved by `save_pretrained(...)` methods of "
        "transformers\n\ntgi-cpp: without it, the bundled stories260K model is served. LMI's "
        "HF_MODEL_ID and option.model_id are read when neither the flag nor MODEL_ID is set",
        "stories260K (bundled)"}},
      {"--revision",
       {"The actual revision of the model if you're referring to a model on the hub. You can use "
        "a specific commit id or a branch like `refs/pr/2`"}},
      {"--validation-workers",
       {"The number of tokenizer workers used for payload validation and truncation inside the "
        "router",
        "2"}},
      {"--sharded",
       {"Whether to shard the model across multiple GPUs By default text-generation-inference "
        "will use all available GPUs to run the model. Setting it to `false` deactivates "
        "`num_shard`",
        "", "true, false"}},
      {"--num-shard",
       {"The number of shards to use if you don't want to use all GPUs on a given machine. You "
        "can use `CUDA_VISIBLE_DEVICES=0,1 text-generation-launcher... --num_shard 2` and "
        "`CUDA_VISIBLE_DEVICES=2,3 text-generation-launcher... --num_shard 2` to launch 2 copies "
        "with 2 shard each on a given machine with 4 GPUs for instance\n\ntgi-cpp: on CPU, N "
        "shard processes split the CPUs this process may run on"}},
      {"--quantize",
       {"Whether you want the model to be quantized\n\ntgi-cpp: accepted and ignored (with a "
        "warning); weights are served as stored",
        "",
        "awq, eetq, gptq, bitsandbytes, bitsandbytes-nf4, bitsandbytes-fp4, fp8, exl2, marlin"}},
      {"--speculate",
       {"The number of input_ids to speculate on If using a medusa model, the heads will be "
        "picked up automatically Other wise, it will use n-gram speculation which is relatively "
        "free in terms of compute, but the speedup heavily depends on the task\n\ntgi-cpp: "
        "accepted and ignored (with a warning)"}},
      {"--dtype",
       {"The dtype to be forced upon the model. This option cannot be used with "
        "`--quantize`\n\ntgi-cpp: float32 on CPU, bfloat16 on Gaudi (HABANA_VISIBLE_DEVICES set) "
        "when not given",
        "", "float16, bfloat16, float32"}},
      {"--kv-cache-dtype",
       {"Specify the dtype for the key-value cache. When this option is not provided, the KV "
        "cache will use the same dtype as the model\n\ntgi-cpp: bfloat16 halves the KV cache "
        "(and its traffic) of a float32 model; float32 keeps it exact; the fp8 values are "
        "accepted and ignored (with a warning)",
        "", "fp8_e4m3fn, fp8_e5m2, bfloat16, float32"}},
      {"--trust-remote-code",
       {"Whether you want to execute hub modelling code. Explicitly passing a `revision` is "
        "encouraged when loading a model with custom code to ensure no malicious code has been "
        "contributed in a newer revision"}},
      {"--max-concurrent-requests",
       {"The maximum amount of concurrent requests for this particular deployment. Having a low "
        "limit will refuse clients requests instead of having them wait for too long and is "
        "usually good to handle backpressure correctly",
        "128"}},
      {"--max-best-of",
       {"This is the maximum allowed value for clients to set `best_of`. Best of makes `n` "
        "generations at the same time, and return the best in terms of overall log probability "
        "over the entire generated sequence",
        "2"}},
      {"--max-stop-sequences",
       {"This is the maximum allowed value for clients to set `stop_sequences`. Stop sequences "
        "are used to allow the model to stop on more than just the EOS token, and enable more "
        "complex \"prompting\" where users can preprompt the model in a specific way and define "
        "their \"own\" stop token aligned with their prompt",
        "4"}},
      {"--max-top-n-tokens",
       {"This is the maximum allowed value for clients to set `top_n_tokens`. `top_n_tokens` is "
        "used to return information about the the `n` most likely tokens at each generation "
        "step, instead of just the sampled token. This information can be used for downstream "
        "tasks like for classification or ranking",
        "5"}},
      {"--max-input-tokens",
       {"This is the maximum allowed input length (expressed in number of tokens) for users. The "
        "larger this value, the longer prompt users can send which can impact the overall "
        "memory required to handle the load. Please note that some models have a finite range "
        "of sequence they can handle. Default to min(max_position_embeddings - 1, 4095)"}},
      {"--max-input-length", {"Legacy version of [`Args::max_input_tokens`]"}},
      {"--max-total-tokens",
       {"This is the most important value to set as it defines the \"memory budget\" of running "
        "clients requests. Clients will send input sequences and ask to generate "
        "`max_new_tokens` on top. with a value of `1512` users can send either a prompt of "
        "`1000` and ask for `512` new tokens, or send a prompt of `1` and ask for `1511` "
        "max_new_tokens. The larger this value, the larger amount each request will be in your "
        "RAM and the less effective batching can be. Default to min(max_position_embeddings, "
        "4096)"}},
      {"--waiting-served-ratio",
       {"This represents the ratio of waiting queries vs running queries where you want to "
        "start considering pausing the running queries to include the waiting ones into the "
        "same batch. `waiting_served_ratio=1.2` Means when 12 queries are waiting and there's "
        "only 10 queries left in the current batch we check if we can fit those 12 waiting "
        "queries into the batching strategy, and if yes, then batching happens delaying the 10 "
        "running queries by a `prefill` run.\n\nThis setting is only applied if there is room "
        "in the batch as defined by `max_batch_total_tokens`",
        "0.3"}},
      {"--max-batch-prefill-tokens",
       {"Limits the number of tokens for the prefill operation. Since this operation take the "
        "most memory and is compute bound, it is interesting to limit the number of requests "
        "that can be sent. Default to `max_input_tokens + 50` to give a bit of room"}},
      {"--max-batch-total-tokens",
       {"**IMPORTANT** This is one critical control to allow maximum usage of the available "
        "hardware.\n\nThis represents the total amount of potential tokens within a batch. When "
        "using padding (not recommended) this would be equivalent of `batch_size` * "
        "`max_total_tokens`.\n\nHowever in the non-padded (flash attention) version this can be "
        "much finer.\n\nFor `max_batch_total_tokens=1000`, you could fit `10` queries of "
        "`total_tokens=100` or a single query of `1000` tokens.\n\nOverall this number should be "
        "the largest possible amount that fits the remaining memory (after the model is "
        "loaded). Since the actual memory overhead depends on other parameters like if you're "
        "using quantization, flash attention or the model implementation, "
        "text-generation-inference cannot infer this number automatically"}},
      {"--max-prefill-chunk-tokens",
       {"tgi-cpp only. Chunked prefill: the most prompt tokens one forward computes. A long "
        "prompt joins the running batch a chunk per step, in the same forward as every running "
        "request's next token, so that running requests keep their pace (time per output token) "
        "while new ones arrive, and a step's memory and time stay bounded. Smaller values keep "
        "decoding smoother, larger ones prefill a little faster. 0 computes whole prompts in one "
        "`prefill`, as TGI 2 does",
        "128"}},
      {"--max-waiting-tokens",
       {"This setting defines how many tokens can be passed before forcing the waiting queries "
        "to be put on the batch (if the size of the batch allows for it). New queries require 1 "
        "`prefill` forward, which is different from `decode` and therefore you need to pause "
        "the running batch in order to run `prefill` to create the correct values for the "
        "waiting queries to be able to join the batch.\n\nWith a value too small, queries will "
        "always \"steal\" the compute to run `prefill` and running queries will be delayed by a "
        "lot.\n\nWith a value too big, waiting queries could wait for a very long time before "
        "being allowed a slot in the running batch. If your server is busy that means that "
        "requests that could run in ~2s on an empty server could end up running in ~20s because "
        "the query had to wait for 18s.\n\nThis number is expressed in number of tokens to make "
        "it a bit more \"model\" agnostic, but what should really matter is the overall latency "
        "for end users",
        "20"}},
      {"--max-batch-size",
       {"Enforce a maximum number of requests per batch Specific flag for hardware targets that "
        "do not support unpadded inference"}},
      {"--cuda-graphs",
       {"Specify the batch sizes to compute cuda graphs for. Use \"0\" to disable. Default = "
        "\"1,2,4,8,16,32\""}},
      {"--hostname", {"The IP address to listen on", "0.0.0.0"}},
      {"--port", {"The port to listen on", "3000", "", "-p"}},
      {"--shard-uds-path",
       {"The name of the socket for gRPC communication between the webserver and the shards",
        "/tmp/text-generation-server"}},
      {"--master-addr",
       {"The address the master shard will listen on. (setting used by torch distributed)",
        "localhost"}},
      {"--master-port",
       {"The address the master port will listen on. (setting used by torch distributed)",
        "29500"}},
      {"--huggingface-hub-cache",
       {"The location of the huggingface hub cache. Used to override the location if you want "
        "to provide a mounted disk for instance"}},
      {"--weights-cache-override",
       {"The location of the huggingface hub cache. Used to override the location if you want "
        "to provide a mounted disk for instance"}},
      {"--disable-custom-kernels",
       {"For some models (like bloom), text-generation-inference implemented custom cuda kernels "
        "to speed up inference. Those kernels were only tested on A100. Use this flag to disable "
        "them if you're running on different hardware and encounter issues"}},
      {"--cuda-memory-fraction",
       {"Limit the CUDA available memory. The allowed value equals the total visible memory "
        "multiplied by cuda-memory-fraction",
        "1.0"}},
      {"--rope-scaling",
       {"Rope scaling will only be used for RoPE models and allow rescaling the position rotary "
        "to accomodate for larger prompts.\n\nGoes together with `rope_factor`.\n\n"
        "`--rope-factor 2.0` gives linear scaling with a factor of 2.0 `--rope-scaling dynamic` "
        "gives dynamic scaling with a factor of 1.0 `--rope-scaling linear` gives linear "
        "scaling with a factor of 1.0 (Nothing will be changed basically)\n\n`--rope-scaling "
        "linear --rope-factor` fully describes the scaling you want",
        "", "linear, dynamic"}},
      {"--rope-factor", {"Rope scaling will only be used for RoPE models See `rope_scaling`"}},
      {"--json-output", {"Outputs the logs in JSON format (useful for telemetry)"}},
      {"--otlp-endpoint", {""}},
      {"--otlp-service-name", {"", "text-generation-inference.router"}},
      {"--cors-allow-origin", {""}},
      {"--api-key", {"Set the api key to be used for authentication"}},
      {"--watermark-gamma", {""}},
      {"--watermark-delta", {""}},
      {"--ngrok", {"Enable ngrok tunneling"}},
      {"--ngrok-authtoken", {"ngrok authentication token"}},
      {"--ngrok-edge", {"ngrok edge"}},
      {"--tokenizer-config-path",
       {"The path to the tokenizer config file. This path is used to load the tokenizer "
        "configuration which may include a `chat_template`. If not provided, the default config "
        "will be used from the model hub"}},
      {"--disable-grammar-support",
       {"Disable outlines grammar constrained generation. This is a feature that allows you to "
        "generate text that follows a specific grammar"}},
      {"--env",
       {"Display a lot of information about your runtime environment", "", "", "-e", false, true}},
      {"--max-client-batch-size",
       {"Control the maximum number of inputs that a client can send in a single request", "4"}},
      {"--lora-adapters",
       {"Lora Adapters a list of adapter ids i.e. `repo/adapter1,repo/adapter2` to load during "
        "startup that will be available to callers via the `adapter_id` field in a "
        "request\n\ntgi-cpp: accepted and ignored (with a warning)"}},
      {"--usage-stats",
       {"Control if anonymous usage stats are collected. Options are \"on\", \"off\" and "
        "\"no-stack\" Defaul is on\n\ntgi-cpp: nothing is ever collected",
        "on", "on, off, no-stack"}},
      {"--payload-limit", {"Payload size limit in bytes Default is 2MB", "2000000"}},
      {"--enable-prefill-logprobs",
       {"Enables prefill logprobs\n\nLogprobs in the prompt are deactivated by default because "
        "they consume a large amount of VRAM (especially for long prompts). Using this flag "
        "reallows users to ask for them\n\ntgi-cpp: accepted; prefill logprobs are always "
        "available"}},
      {"--serving-properties",
       {"tgi-cpp: a DJL Serving (LMI) serving.properties file. When not given, the model "
        "directory's serving.properties is read if there is one. Its settings (and LMI's "
        "HF_MODEL_ID, TENSOR_PARALLEL_DEGREE and OPTION_* variables) apply where neither a flag "
        "nor TGI's variable sets the value"}},
      {"--shard-startup-timeout",
       {"tgi-cpp: seconds to wait for every shard's socket before giving up", "600"}},
      {"--graceful-termination-timeout",
       {"Seconds to wait for a child (router, then shards) to exit after SIGTERM before it is "
        "killed",
        "90"}},
      {"--print-config",
       {"Print the resolved configuration and the children's command lines as JSON, then exit", "",
        "", "", true}},
  };
  return *table;
}

}  // namespace

const FlagText& FlagTextFor(const std::string& flag) {
  auto it = Table().find(flag);
  if (it == Table().end()) {
    std::fprintf(stderr, "launcher: no help text for %s\n", flag.c_str());
    std::abort();
  }
  return it->second;
}

}  // namespace tgi::launcher
