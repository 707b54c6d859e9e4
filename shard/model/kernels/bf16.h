// Scalar bfloat16 <-> float32 conversions shared by the kernels (round to nearest even, as
// libtorch's c10::BFloat16 does; NaN stays NaN).
#pragma once

#include <cstdint>
#include <cstring>

namespace tgi::shard::kernels {

inline float Bf16ToFloat(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof(value));
  return value;
}

inline uint16_t FloatToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

}  // namespace tgi::shard::kernels
