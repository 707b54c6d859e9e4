// The vector instruction sets this CPU runs, detected once at run time (cpuid through
// __builtin_cpu_supports), and the kernel ISA the shard uses: the best the CPU has, or a lower one
// named by TGI_CPU_ISA (generic, avx2, avx512, avx512_bf16) to compare or test the fallbacks.
// Kernels take an Isa argument; a kernel asked for an ISA the CPU lacks runs a lower one.
#pragma once

namespace tgi::shard::kernels {

// Ordered: each level includes the ones below it.
enum class Isa {
  kGeneric = 0,     // portable C++ (auto-vectorised; AVX2 clones where the CPU has AVX2)
  kAvx2 = 1,        // AVX2 + FMA
  kAvx512 = 2,      // AVX-512 F/BW/VL/DQ
  kAvx512Bf16 = 3,  // AVX-512 + avx512_bf16 (detected; the kernels run their AVX-512 path)
};

// The best ISA of this CPU.
Isa DetectedIsa();
// DetectedIsa(), lowered by TGI_CPU_ISA when it names a lower level (read once).
Isa ActiveIsa();
// min(requested, DetectedIsa()).
Isa Supported(Isa requested);
const char* IsaName(Isa isa);

}  // namespace tgi::shard::kernels
