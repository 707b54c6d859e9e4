// The help text of each launcher flag (TGI's wording where TGI has the flag), its default as
// --help shows it and its possible values. Text only: values and parsing live in options.cc.
#pragma once

#include <string>
#include <utility>

namespace tgi::launcher {

struct FlagText {
  FlagText(std::string help_text = "", std::string default_value = "", std::string possible = "",
           std::string short_flag = "", bool is_hidden = false, bool without_env = false)
      : help(std::move(help_text)),
        default_text(std::move(default_value)),
        possible_values(std::move(possible)),
        short_name(std::move(short_flag)),
        hidden(is_hidden),
        no_env(without_env) {}

  std::string help;  // paragraphs separated by "\n\n"
  std::string default_text;
  std::string possible_values;
  std::string short_name;  // e.g. "-p"
  bool hidden = false;
  bool no_env = false;  // --env has no environment variable
};

// One rendered entry of --help.
struct FlagDoc {
  std::string names;       // "-p, --port" or "    --model-id"
  std::string value_name;  // "PORT"; empty for a boolean flag
  std::string env;         // "PORT"; empty when the flag has no variable
  FlagText text;
};

// The text of `flag` ("--model-id"); aborts on a flag with no entry (a programming error).
const FlagText& FlagTextFor(const std::string& flag);

}  // namespace tgi::launcher
