// The `http` subcommand: the HTTP load mode against a running server (--url: our router, TGI,
// llama.cpp's llama-server with --api openai) or a launcher it starts on --model. Prints the
// report on stdout; progress goes to stderr.
#pragma once

#include "absl/status/status.h"
#include "benchmark/cli.h"

namespace tgi::benchmark {

absl::Status RunHttpMode(const CommandLine& command_line);

}  // namespace tgi::benchmark
