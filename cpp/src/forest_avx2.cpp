// AVX2 batch kernel of Forest (see forest.h), for x86-64 CPUs without
// AVX-512. Compiled for AVX2 only inside (target attribute) and run only
// when the CPU reports it. Same scheme as the AVX-512 batch kernel
// (forest_avx512.cpp) with 8 rows per vector: keys transposed per block of
// rows, levels 0-3 pick their nodes from registers by permute, deeper levels
// gather them; keys and leaves by gather; leaves added per row in tree
// order, so results equal the scalar path's exactly. One row keeps the
// scalar path (four trees in lock step).
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "pyscore/forest.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PYSCORE_HAVE_AVX2_KERNELS 1
#define PYSCORE_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt,fma")))
#endif

namespace pyscore {

#ifndef PYSCORE_HAVE_AVX2_KERNELS

bool ForestAvx2::Supported() { return false; }

void ForestAvx2::PredictMargin(const Forest&, const float*, int64_t, int64_t, const int32_t*, double*, int64_t) {
  throw std::logic_error("forest: AVX2 kernels are not built for this CPU architecture");
}

#else  // PYSCORE_HAVE_AVX2_KERNELS

namespace {

bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// One step for one vector of 8 rows: go right (p = 2p + 1) where key > threshold.
PYSCORE_AVX2 inline __m256i Step(__m256i p, __m256i thr, __m256i key_row, const int32_t* keysT) {
  const __m256i k = _mm256_i32gather_epi32(keysT, key_row, 4);
  const __m256i right = _mm256_cmpgt_epi32(k, thr);  // -1 where right
  return _mm256_sub_epi32(_mm256_add_epi32(p, p), right);
}

// One complete tree of depth D over NV vectors of 8 rows (see TreeBlock in
// forest_avx512.cpp): keysT slot-major with 8 * NV rows per slot.
template <int D, int NV, typename Acc>
PYSCORE_AVX2 void TreeBlock(const int32_t* thr, const int32_t* slot, const Acc* leaves, const int32_t* keysT,
                            Acc* acc) {
  constexpr int kShift = NV == 8 ? 6 : NV == 4 ? 5 : 4;
  __m256i rows[NV];
  for (int v = 0; v < NV; ++v) {
    rows[v] = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(8 * v));
  }
  __m256i p[NV];
  {  // level 0: one node for every row, its keys are contiguous
    const __m256i t = _mm256_set1_epi32(thr[0]);
    const int32_t* k = keysT + (static_cast<int64_t>(slot[0]) << kShift);
    for (int v = 0; v < NV; ++v) {
      const __m256i keys = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + 8 * v));
      p[v] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_cmpgt_epi32(keys, t));
    }
  }
#pragma GCC unroll 8
  for (int l = 1; l < D; ++l) {
    const int base = (1 << l) - 1;
    if (l <= 3) {
      // The level's 2^l nodes (masked load: never past the tree's end).
      const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(1 << l), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      const __m256i T = _mm256_maskload_epi32(thr + base, m);
      const __m256i S = _mm256_slli_epi32(_mm256_maskload_epi32(slot + base, m), kShift);
      for (int v = 0; v < NV; ++v) {
        const __m256i key_row = _mm256_add_epi32(_mm256_permutevar8x32_epi32(S, p[v]), rows[v]);
        p[v] = Step(p[v], _mm256_permutevar8x32_epi32(T, p[v]), key_row, keysT);
      }
    } else {
      for (int v = 0; v < NV; ++v) {
        const __m256i t = _mm256_i32gather_epi32(thr + base, p[v], 4);
        const __m256i s = _mm256_slli_epi32(_mm256_i32gather_epi32(slot + base, p[v], 4), kShift);
        p[v] = Step(p[v], t, _mm256_add_epi32(s, rows[v]), keysT);
      }
    }
  }
  for (int v = 0; v < NV; ++v) {
    if constexpr (std::is_same_v<Acc, float>) {
      const __m256 lv = _mm256_i32gather_ps(leaves, p[v], 4);
      _mm256_storeu_ps(acc + 8 * v, _mm256_add_ps(_mm256_loadu_ps(acc + 8 * v), lv));
    } else {
      const __m256d lo = _mm256_i32gather_pd(leaves, _mm256_castsi256_si128(p[v]), 8);
      const __m256d hi = _mm256_i32gather_pd(leaves, _mm256_extracti128_si256(p[v], 1), 8);
      _mm256_storeu_pd(acc + 8 * v, _mm256_add_pd(_mm256_loadu_pd(acc + 8 * v), lo));
      _mm256_storeu_pd(acc + 8 * v + 4, _mm256_add_pd(_mm256_loadu_pd(acc + 8 * v + 4), hi));
    }
  }
}

template <typename Acc>
using TreeBlockFn = void (*)(const int32_t*, const int32_t*, const Acc*, const int32_t*, Acc*);

template <int NV, typename Acc>
TreeBlockFn<Acc> PickTreeBlock(int depth) {
  switch (depth) {
    case 1: return &TreeBlock<1, NV, Acc>;
    case 2: return &TreeBlock<2, NV, Acc>;
    case 3: return &TreeBlock<3, NV, Acc>;
    case 4: return &TreeBlock<4, NV, Acc>;
    case 5: return &TreeBlock<5, NV, Acc>;
    case 6: return &TreeBlock<6, NV, Acc>;
    case 7: return &TreeBlock<7, NV, Acc>;
    default: return &TreeBlock<8, NV, Acc>;
  }
}

// Sortable keys (forest.cpp: Key) of rows [row0, row0 + rows) into keysT
// (slot-major, B rows per slot; rows beyond `rows` get key 0, dropped later).
void BlockKeys(const float* X, int64_t row0, int64_t rows, int64_t x_stride, const int32_t* key_feature,
               const int32_t* nan_key, int64_t U, int64_t B, int32_t* keysT) {
  for (int64_t u = 0; u < U; ++u) {
    int32_t* out = keysT + u * B;
    const float* x = X + row0 * x_stride + key_feature[u];
    for (int64_t r = 0; r < rows; ++r) {
      const float v = x[r * x_stride];
      int32_t b;
      std::memcpy(&b, &v, sizeof b);
      out[r] = v != v ? nan_key[u] : v == 0.0f ? 0 : b >= 0 ? b : (b ^ 0x7fffffff);
    }
    std::fill(out + rows, out + B, 0);
  }
}

}  // namespace

bool ForestAvx2::Supported() {
  static const bool ok = CpuHasAvx2();
  return ok;
}

void ForestAvx2::PredictMargin(const Forest& f, const float* X, int64_t n, int64_t x_stride,
                               const int32_t* key_feature, double* out, int64_t out_stride) {
  const int64_t U = f.NKeys(), K = f.n_outputs_;
  // Keys of a block stay near L1: 64 rows while they fit 32 KiB, fewer beyond.
  const int NV = U * 64 * 4 <= 32 * 1024 ? 8 : U * 32 * 4 <= 32 * 1024 ? 4 : 2;
  const int64_t B = 8 * NV;
  auto run = [&](auto zero) {
    using Acc = decltype(zero);
    const Acc* leaves = nullptr;
    if constexpr (std::is_same_v<Acc, float>) {
      leaves = f.cleaves_f_.data();
    } else {
      leaves = f.cleaves_.data();
    }
    const TreeBlockFn<Acc> kernel = NV == 8   ? PickTreeBlock<8, Acc>(f.complete_depth_)
                                    : NV == 4 ? PickTreeBlock<4, Acc>(f.complete_depth_)
                                              : PickTreeBlock<2, Acc>(f.complete_depth_);
    std::vector<int32_t> keysT(std::max<int64_t>(U, 1) * B);
    std::vector<Acc> acc(K * B);
    for (int64_t row0 = 0; row0 < n; row0 += B) {
      const int64_t rows = std::min(B, n - row0);
      BlockKeys(X, row0, rows, x_stride, key_feature, f.key_nan_.data(), U, B, keysT.data());
      for (int64_t k = 0; k < K; ++k) {
        std::fill(acc.begin() + k * B, acc.begin() + (k + 1) * B, static_cast<Acc>(f.base_score_[k]));
      }
      for (const Forest::Tree& t : f.trees_) {
        Acc* a = acc.data() + t.output * B;
        if (t.cnode_begin >= 0) {
          kernel(f.cthr_.data() + t.cnode_begin, f.ckey_.data() + t.cnode_begin, leaves + t.leaf_begin, keysT.data(), a);
          continue;
        }
        for (int64_t r = 0; r < rows; ++r) a[r] += static_cast<Acc>(f.DeepTreeValue(t, keysT.data() + r, B));
      }
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t k = 0; k < K; ++k) out[(row0 + r) * out_stride + k] = static_cast<double>(acc[k * B + r]);
      }
    }
  };
  if (f.float32_sum_) {
    run(0.0f);
  } else {
    run(0.0);
  }
}

#endif  // PYSCORE_HAVE_AVX2_KERNELS

}  // namespace pyscore
