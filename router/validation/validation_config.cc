#include "router/validation/validation_config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace tgi::router {

void ValidationConfig::ReadEnvironment() {
  if (const char* skip = std::getenv("SKIP_TOKENIZER_IN_TGI")) {
    std::string value(skip);
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    skip_tokenizer = value == "true";
  }
  if (const char* quant = std::getenv("QUANT_CONFIG")) quant_config = quant;
}

}  // namespace tgi::router
