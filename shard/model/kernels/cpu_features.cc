#include "shard/model/kernels/cpu_features.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace tgi::shard::kernels {

Isa DetectedIsa() {
  static const Isa detected = [] {
#if defined(__x86_64__)
    __builtin_cpu_init();
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    if (avx512 && __builtin_cpu_supports("avx512bf16")) return Isa::kAvx512Bf16;
    if (avx512) return Isa::kAvx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
#endif
    return Isa::kGeneric;
  }();
  return detected;
}

Isa Supported(Isa requested) { return std::min(requested, DetectedIsa()); }

Isa ActiveIsa() {
  static const Isa active = [] {
    const char* env = std::getenv("TGI_CPU_ISA");
    const std::string_view name = env == nullptr ? "" : env;
    for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Bf16}) {
      if (name == IsaName(isa)) return Supported(isa);
    }
    return DetectedIsa();
  }();
  return active;
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kGeneric:
      return "generic";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx512Bf16:
      return "avx512_bf16";
  }
  return "generic";
}

}  // namespace tgi::shard::kernels
