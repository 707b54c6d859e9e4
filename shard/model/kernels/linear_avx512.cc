// The AVX-512 tiles of packed_linear: MR rows x NP panels of accumulators in zmm registers, one
// pass over k. float32 weights: broadcast x[m, k], FMA with the panel's 16 lanes. bfloat16
// weights: each k pair widened to float32 with a shift and a mask (two FMAs, x kept in float32);
// for many rows a pair is widened once into a buffer the float32 tiles read. x is first copied
// k-major per row tile ([K][rows]), so that a tile broadcasts from one pointer with constant
// offsets (eleven row pointers would not fit the general registers, and the moves between vector
// and general registers would take the FMA ports).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "shard/model/kernels/linear_internal.h"
#include "shard/model/kernels/vec_math.h"

namespace tgi::shard::kernels::internal {
namespace {

enum class Kind { kF32, kBf16Widen };

// Up to this many rows one tile, 4 panels wide, covers every row (more weight streams in flight).
constexpr int64_t kWideRows = 6;
// Up to this many rows one tile covers every row: each weight byte is read once, from DRAM.
constexpr int64_t kTileRows = 14;

// The k range [begin, end) a tile runs now; `partial` holds its accumulators between ranges
// (unused when the range is the whole of K). Blocking k changes nothing in any sum: each output
// is still one accumulation over k in order.
struct KRange {
  int64_t begin = 0;
  int64_t end = 0;
  float* partial = nullptr;
};

// k in blocks of this many (even: bfloat16 pairs) when a pair's panels serve several row tiles:
// the block of both panels (kKBlock x 32 floats) and of a tile's x (kKBlock x 14) stay in L1.
constexpr int64_t kKBlock = 128;

TGI_TARGET_AVX512 inline __mmask16 ColumnMask(int64_t valid) {
  return valid >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << valid) - 1);
}

TGI_TARGET_AVX512 inline __m512 Silu(__m512 g) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(g, _mm512_add_ps(one, Exp512(_mm512_sub_ps(_mm512_setzero_ps(), g))));
}

// Writes a tile's accumulators; `pair` is the first panel pair of the tile.
template <int MR, int NP>
TGI_TARGET_AVX512 inline void Finish(__m512 (&acc)[MR][NP], const LinearArgs& a, int64_t pair,
                                     int64_t m0) {
  const float* bias = a.bias == nullptr ? nullptr : a.bias + pair * 32;
  if (a.epilogue == Epilogue::kSiluMul) {
#pragma GCC unroll 4
    for (int i = 0; i < NP / 2; ++i) {
      const int64_t column = (pair + i) * 16;
      if (column >= a.n_out) break;
      const __mmask16 mask = ColumnMask(a.n_out - column);
      const __m512 gate_bias = bias ? _mm512_loadu_ps(bias + 32 * i) : _mm512_setzero_ps();
      const __m512 up_bias = bias ? _mm512_loadu_ps(bias + 32 * i + 16) : _mm512_setzero_ps();
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) {
        const __m512 gate = _mm512_add_ps(acc[m][2 * i], gate_bias);
        const __m512 up = _mm512_add_ps(acc[m][2 * i + 1], up_bias);
        _mm512_mask_storeu_ps(a.out + (m0 + m) * a.ldo + column, mask,
                              _mm512_mul_ps(Silu(gate), up));
      }
    }
    return;
  }
#pragma GCC unroll 4
  for (int j = 0; j < NP; ++j) {
    const int64_t column = pair * 32 + j * 16;
    if (column >= a.n_out) break;
    const __mmask16 mask = ColumnMask(a.n_out - column);
    const __m512 b = bias ? _mm512_loadu_ps(bias + 16 * j) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      float* out = a.out + (m0 + m) * a.ldo + column;
      __m512 value = _mm512_add_ps(acc[m][j], b);
      if (a.epilogue == Epilogue::kAccumulate) {
        value = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), value);
      }
      _mm512_mask_storeu_ps(out, mask, value);
    }
  }
}

// Software prefetch of the weight streams (the hardware streamers stop at 4 KiB pages). With one
// row tile per pair (small M, memory-bound) each stream is fetched this far ahead into L1; with
// several row tiles (compute-bound) the first tile of a pair pulls the next pair into L2, so the
// DRAM stream overlaps the other tiles' arithmetic. Later tiles of a pair hit the caches.
constexpr int64_t kPrefetchBytes = 2048;

enum class Prefetch { kNone, kAhead, kNextPair };

// How far ahead of a stream a tile prefetches, by mode (0: no prefetch).
inline int64_t PrefetchDistance(Prefetch mode, int64_t pair_bytes) {
  switch (mode) {
    case Prefetch::kAhead:
      return kPrefetchBytes;
    case Prefetch::kNextPair:
      return pair_bytes;
    case Prefetch::kNone:
      break;
  }
  return 0;
}

// The prefetch a tile at row m0 issues.
inline Prefetch PrefetchFor(const LinearArgs& a, int64_t m0) {
  if (m0 != 0 || a.widened_pair != nullptr) return Prefetch::kNone;
  return a.m <= kTileRows ? Prefetch::kAhead : Prefetch::kNextPair;
}

// The row tiles of m rows, in order: one tile up to kTileRows rows, else tiles of at most
// kTileRows as even as possible (base + 1 rows for the first `extra`, base for the others).
template <typename Run>
void ForRowTiles(int64_t m, Run&& run) {
  const int64_t tiles = m <= kTileRows ? 1 : (m + kTileRows - 1) / kTileRows;
  const int64_t base = m / tiles;
  const int64_t extra = m % tiles;
  for (int64_t t = 0, m0 = 0; t < tiles; ++t) {
    const int64_t rows = base + (t < extra ? 1 : 0);
    run(rows, m0);
    m0 += rows;
  }
}

// The tile's rows of x, k-major: x_tile[k * MR + m] (see PackRows).
inline const float* TileRows(const LinearArgs& a, int64_t m0) { return a.x_packed + m0 * a.k; }

// A tile of MR rows of x [K][MR] at this row tile's place in x_packed, for every row tile.
void PackRows(const LinearArgs& a, int64_t rows, int64_t m0, float* packed) {
  float* out = packed + m0 * a.k;
  for (int64_t m = 0; m < rows; ++m) {
    const float* row = a.x + (m0 + m) * a.ldx;
    for (int64_t k = 0; k < a.k; ++k) out[k * rows + m] = row[k];
  }
}

// The accumulators of a tile that runs k in blocks: zero before the first block, else the
// partial sums the previous block left in `partial` ([MR][NP][16]).
template <int MR, int NP>
TGI_TARGET_AVX512 inline void StartBlock(__m512 (&acc)[MR][NP], const KRange& r) {
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) {
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) {
      acc[m][j] = r.begin == 0 ? _mm512_setzero_ps() : _mm512_load_ps(r.partial + (m * NP + j) * 16);
    }
  }
}

// After a block: the partial sums back to `partial`, or, after the last, the epilogue.
template <int MR, int NP>
TGI_TARGET_AVX512 inline void EndBlock(__m512 (&acc)[MR][NP], const KRange& r, const LinearArgs& a,
                                       int64_t pair, int64_t m0) {
  if (r.end < a.k) {
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
#pragma GCC unroll 4
      for (int j = 0; j < NP; ++j) _mm512_store_ps(r.partial + (m * NP + j) * 16, acc[m][j]);
    }
    return;
  }
  Finish<MR, NP>(acc, a, pair, m0);
}

template <int MR, int NP>
TGI_TARGET_AVX512 void TileF32(const LinearArgs& a, int64_t pair, int64_t m0, const KRange& r) {
  const int64_t k_size = a.k;
  const float* w = a.widened_pair != nullptr ? a.widened_pair
                                             : static_cast<const float*>(a.w) + pair * 32 * k_size;
  const float* x = TileRows(a, m0) + r.begin * MR;
  __m512 acc[MR][NP];
  StartBlock<MR, NP>(acc, r);
  const int64_t ahead = PrefetchDistance(PrefetchFor(a, m0), 32 * k_size * 4);
  for (int64_t k = r.begin; k < r.end; ++k, x += MR) {
    __m512 wv[NP];
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) {
      const float* stream = w + F32PanelOffset(k_size, j, k);
      _mm_prefetch(reinterpret_cast<const char*>(stream) + ahead, _MM_HINT_T1);
      wv[j] = _mm512_load_ps(stream);
    }
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const __m512 xb = _mm512_set1_ps(x[m]);
#pragma GCC unroll 4
      for (int j = 0; j < NP; ++j) acc[m][j] = _mm512_fmadd_ps(xb, wv[j], acc[m][j]);
    }
  }
  EndBlock<MR, NP>(acc, r, a, pair, m0);
}

template <int MR, int NP>
TGI_TARGET_AVX512 void TileBf16Widen(const LinearArgs& a, int64_t pair, int64_t m0,
                                     const KRange& r) {
  const int64_t k_size = a.k;
  const uint16_t* w = static_cast<const uint16_t*>(a.w) + pair * 32 * k_size;
  const float* x = TileRows(a, m0) + r.begin * MR;
  const __m512i high = _mm512_set1_epi32(static_cast<int32_t>(0xffff0000u));
  __m512 acc[MR][NP];
  StartBlock<MR, NP>(acc, r);
  const int64_t ahead = PrefetchDistance(PrefetchFor(a, m0), 32 * k_size * 2);
  for (int64_t k = r.begin; k < r.end; k += 2, x += 2 * MR) {
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) {
      const uint16_t* stream = w + Bf16PanelOffset(k_size, j, k);
      _mm_prefetch(reinterpret_cast<const char*>(stream) + ahead, _MM_HINT_T1);
      const __m512i pairs = _mm512_load_si512(stream);
      const __m512 even = _mm512_castsi512_ps(_mm512_slli_epi32(pairs, 16));
      const __m512 odd = _mm512_castsi512_ps(_mm512_and_si512(pairs, high));
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) {
        acc[m][j] = _mm512_fmadd_ps(_mm512_set1_ps(x[m]), even, acc[m][j]);
        acc[m][j] = _mm512_fmadd_ps(_mm512_set1_ps(x[MR + m]), odd, acc[m][j]);
      }
    }
  }
  EndBlock<MR, NP>(acc, r, a, pair, m0);
}

template <Kind kind, int MR, int NP>
void Tile(const LinearArgs& a, int64_t pair, int64_t m0, const KRange& r) {
  if constexpr (kind == Kind::kF32) {
    TileF32<MR, NP>(a, pair, m0, r);
  } else {
    TileBf16Widen<MR, NP>(a, pair, m0, r);
  }
}

// A tile of `rows` (1..14) rows; NP = 4 takes rows <= 6.
template <Kind kind, int NP>
void DispatchRows(int64_t rows, const LinearArgs& a, int64_t pair, int64_t m0,
                  const KRange& r) {
#define TGI_TILE_CASE(R)                                           \
  case R:                                                          \
    if constexpr (R * NP <= 28) Tile<kind, R, NP>(a, pair, m0, r); \
    return;
  switch (rows) {
    TGI_TILE_CASE(1)
    TGI_TILE_CASE(2)
    TGI_TILE_CASE(3)
    TGI_TILE_CASE(4)
    TGI_TILE_CASE(5)
    TGI_TILE_CASE(6)
    TGI_TILE_CASE(7)
    TGI_TILE_CASE(8)
    TGI_TILE_CASE(9)
    TGI_TILE_CASE(10)
    TGI_TILE_CASE(11)
    TGI_TILE_CASE(12)
    TGI_TILE_CASE(13)
    TGI_TILE_CASE(14)
    default:
      return;
  }
#undef TGI_TILE_CASE
}

// bfloat16 pair `pair` of `a` widened to a float32 pair [K][2][16] in `out` (and the next pair
// prefetched into L2).
TGI_TARGET_AVX512 void WidenPair(const LinearArgs& a, int64_t pair, float* out) {
  const int64_t k_size = a.k;
  const uint16_t* w = static_cast<const uint16_t*>(a.w) + pair * 32 * k_size;
  const __m512i high = _mm512_set1_epi32(static_cast<int32_t>(0xffff0000u));
  for (int64_t j = 0; j < 2; ++j) {
    for (int64_t k = 0; k < k_size; k += 2) {
      const uint16_t* stream = w + Bf16PanelOffset(k_size, j, k);
      _mm_prefetch(reinterpret_cast<const char*>(stream) + 32 * k_size * 2, _MM_HINT_T1);
      const __m512i pairs = _mm512_load_si512(stream);
      // Lane l holds (W[l, k], W[l, k + 1]): even k in the low half, odd k in the high half.
      _mm512_store_ps(out + F32PanelOffset(k_size, j, k),
                      _mm512_castsi512_ps(_mm512_slli_epi32(pairs, 16)));
      _mm512_store_ps(out + F32PanelOffset(k_size, j, k + 1),
                      _mm512_castsi512_ps(_mm512_and_si512(pairs, high)));
    }
  }
}

template <Kind kind>
void PairsOfPackedRows(const LinearArgs& a, int64_t first, int64_t last);

template <Kind kind>
void Pairs(const LinearArgs& args, PairQueue& pairs) {
  // The row tiles' copies of x, k-major, in this thread's buffer, once for all its chunks.
  LinearArgs a = args;
  float* packed = ThreadBuffer(Scratch::kPackedRows, static_cast<size_t>(a.m * a.k));
  ForRowTiles(a.m, [&](int64_t rows, int64_t m0) { PackRows(a, rows, m0, packed); });
  a.x_packed = packed;
  int64_t first = 0;
  int64_t last = 0;
  while (pairs.Next(first, last)) PairsOfPackedRows<kind>(a, first, last);
}

template <Kind kind>
void PairsOfPackedRows(const LinearArgs& a, int64_t first, int64_t last) {
  if (a.m <= kWideRows) {
    // One row tile; two panel pairs at a time keep four weight streams in flight.
    const KRange all{0, a.k, nullptr};
    int64_t pair = first;
    for (; pair + 2 <= last; pair += 2) DispatchRows<kind, 4>(a.m, a, pair, 0, all);
    if (pair < last) DispatchRows<kind, 2>(a.m, a, pair, 0, all);
    return;
  }
  if (a.m <= kTileRows) {
    const KRange all{0, a.k, nullptr};
    for (int64_t pair = first; pair < last; ++pair) DispatchRows<kind, 2>(a.m, a, pair, 0, all);
    return;
  }
  // Row tiles of at most 14, as even as possible, over k blocks: each block of a pair's panels
  // stays in L1 across the tiles. `partial` holds every tile's sums between blocks.
  float* partial = ThreadBuffer(Scratch::kPartialSums, static_cast<size_t>(a.m * 32));
  auto for_tiles = [&](auto&& run) {
    for (int64_t k0 = 0; k0 < a.k; k0 += kKBlock) {
      const int64_t k1 = std::min(a.k, k0 + kKBlock);
      ForRowTiles(a.m, [&](int64_t rows, int64_t m0) {
        run(rows, m0, KRange{k0, k1, partial + m0 * 32});
      });
    }
  };
  if constexpr (kind != Kind::kF32) {
    // Many rows: widen each bfloat16 pair once and run the float32 tiles on it, the widening paid
    // once for all row tiles. The same FMAs in the same order as TileBf16Widen: a row's result
    // does not depend on how many rows there are.
    float* widened = ThreadBuffer(Scratch::kWidenedPair, static_cast<size_t>(32 * a.k));
    LinearArgs f32 = a;
    f32.widened_pair = widened;
    for (int64_t pair = first; pair < last; ++pair) {
      WidenPair(a, pair, widened);
      for_tiles([&](int64_t rows, int64_t m0, const KRange& r) {
        DispatchRows<Kind::kF32, 2>(rows, f32, pair, m0, r);
      });
    }
    return;
  }
  for (int64_t pair = first; pair < last; ++pair) {
    for_tiles([&](int64_t rows, int64_t m0, const KRange& r) {
      DispatchRows<kind, 2>(rows, a, pair, m0, r);
    });
  }
}

}  // namespace

void LinearPairsAvx512(const LinearArgs& args, PairQueue& pairs) {
  if (!args.bf16_weights) {
    Pairs<Kind::kF32>(args, pairs);
  } else {
    Pairs<Kind::kBf16Widen>(args, pairs);
  }
}

}  // namespace tgi::shard::kernels::internal
