// AVX-512 kernels of Forest (see forest.h). Only the functions below are
// compiled for AVX-512 (target attribute), and they run only when the CPU
// reports it at run time; the build itself stays generic x86-64 / aarch64.
//
// They compute exactly what the scalar kernels in forest.cpp compute: the
// same integer keys and comparisons, the same leaves, added per row in tree
// order; only the traversal is vectorised.
//  - Batch: a block of B rows (B = 16, 32 or 64) has its keys transposed,
//    keysT[slot * B + row]. Each complete tree walks the block 16 rows per
//    vector, all vectors level by level (independent gathers overlap); a
//    level's nodes come from registers by permute up to 32 nodes (levels
//    0-5), by gather below; each step gathers the rows' keys.
//  - One row: 16 consecutive complete trees per vector on the rank layout
//    (Forest::BuildRankLayout): node words and slot ranks by gather; the 16
//    leaves are then added one by one in tree order.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "pyscore/forest.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PYSCORE_HAVE_AVX512_KERNELS 1
#define PYSCORE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,bmi,bmi2,popcnt,fma")))
#endif

namespace pyscore {

#ifndef PYSCORE_HAVE_AVX512_KERNELS

bool ForestAvx512::Supported() { return false; }
bool ForestAvx512::Usable(const Forest&) { return false; }
void ForestAvx512::PredictMargin(const Forest&, const float*, int64_t, int64_t, const int32_t*, double*, int64_t) {
  throw std::logic_error("forest: AVX-512 kernels are not built for this CPU architecture");
}
void ForestAvx512::PredictRow(const Forest&, const float*, const int32_t*, double*) {
  throw std::logic_error("forest: AVX-512 kernels are not built for this CPU architecture");
}

#else  // PYSCORE_HAVE_AVX512_KERNELS

namespace {

bool CpuHasAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

// Sortable keys of 16 floats (forest.cpp: Key), NaN -> nan_key.
PYSCORE_AVX512 inline __m512i Keys16(__m512 x, __m512i nan_key) {
  const __m512i b = _mm512_castps_si512(x);
  const __mmask16 neg = _mm512_cmplt_epi32_mask(b, _mm512_setzero_si512());
  __m512i k = _mm512_mask_xor_epi32(b, neg, b, _mm512_set1_epi32(0x7fffffff));
  k = _mm512_maskz_mov_epi32(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NEQ_UQ), k);  // -0, +0 -> 0
  return _mm512_mask_mov_epi32(k, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), nan_key);
}

// One step for one vector of rows: go right (p = 2p + 1) where key > threshold.
PYSCORE_AVX512 inline __m512i Step(__m512i p, __m512i thr, __m512i key_row, const int32_t* keysT) {
  const __m512i k = _mm512_i32gather_epi32(key_row, keysT, 4);
  const __mmask16 right = _mm512_cmpgt_epi32_mask(k, thr);
  p = _mm512_add_epi32(p, p);
  return _mm512_mask_add_epi32(p, right, p, _mm512_set1_epi32(1));
}

// One complete tree of depth D over NV vectors of 16 rows. thr / slot: the
// tree's 2^D - 1 nodes in breadth-first order; keysT: the block's keys,
// slot-major with 16 * NV rows per slot (shift = log2 of that); acc: the
// block's accumulators of this tree's output.
template <int D, int NV, typename Acc>
PYSCORE_AVX512 void TreeBlock(const int32_t* thr, const int32_t* slot, const Acc* leaves, const float* leaves_f,
                              const int32_t* keysT, Acc* acc) {
  constexpr int kShift = NV == 4 ? 6 : NV == 2 ? 5 : 4;
  const __m512i one = _mm512_set1_epi32(1);
  __m512i rows[NV];
  for (int v = 0; v < NV; ++v) {
    rows[v] = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                               _mm512_set1_epi32(16 * v));
  }
  __m512i p[NV];
  {  // level 0: one node for every row, its keys are contiguous
    const __m512i t = _mm512_set1_epi32(thr[0]);
    const int32_t* k = keysT + (static_cast<int64_t>(slot[0]) << kShift);
    for (int v = 0; v < NV; ++v) {
      p[v] = _mm512_maskz_mov_epi32(_mm512_cmpgt_epi32_mask(_mm512_loadu_si512(k + 16 * v), t), one);
    }
  }
#pragma GCC unroll 8
  for (int l = 1; l < D; ++l) {
    const int base = (1 << l) - 1;
    if (l <= 4) {
      const __mmask16 m = static_cast<__mmask16>((1u << (1 << l)) - 1);
      const __m512i T = _mm512_maskz_loadu_epi32(m, thr + base);
      const __m512i S = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(m, slot + base), kShift);
      for (int v = 0; v < NV; ++v) {
        const __m512i key_row = _mm512_add_epi32(_mm512_permutexvar_epi32(p[v], S), rows[v]);
        p[v] = Step(p[v], _mm512_permutexvar_epi32(p[v], T), key_row, keysT);
      }
    } else if (l == 5) {
      const __m512i T0 = _mm512_loadu_si512(thr + base), T1 = _mm512_loadu_si512(thr + base + 16);
      const __m512i S0 = _mm512_slli_epi32(_mm512_loadu_si512(slot + base), kShift);
      const __m512i S1 = _mm512_slli_epi32(_mm512_loadu_si512(slot + base + 16), kShift);
      for (int v = 0; v < NV; ++v) {
        const __m512i key_row = _mm512_add_epi32(_mm512_permutex2var_epi32(S0, p[v], S1), rows[v]);
        p[v] = Step(p[v], _mm512_permutex2var_epi32(T0, p[v], T1), key_row, keysT);
      }
    } else {
      for (int v = 0; v < NV; ++v) {
        const __m512i t = _mm512_i32gather_epi32(p[v], thr + base, 4);
        const __m512i s = _mm512_slli_epi32(_mm512_i32gather_epi32(p[v], slot + base, 4), kShift);
        p[v] = Step(p[v], t, _mm512_add_epi32(s, rows[v]), keysT);
      }
    }
  }
  for (int v = 0; v < NV; ++v) {
    if constexpr (std::is_same_v<Acc, float>) {
      const __m512 lv = _mm512_i32gather_ps(p[v], leaves, 4);
      _mm512_storeu_ps(acc + 16 * v, _mm512_add_ps(_mm512_loadu_ps(acc + 16 * v), lv));
    } else if (leaves_f != nullptr) {  // float32 leaves widen exactly: one gather, half the bytes
      const __m512 lv = _mm512_i32gather_ps(p[v], leaves_f, 4);
      const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(lv));
      const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(lv), 1)));
      _mm512_storeu_pd(acc + 16 * v, _mm512_add_pd(_mm512_loadu_pd(acc + 16 * v), lo));
      _mm512_storeu_pd(acc + 16 * v + 8, _mm512_add_pd(_mm512_loadu_pd(acc + 16 * v + 8), hi));
    } else {
      const __m512d lo = _mm512_i32gather_pd(_mm512_castsi512_si256(p[v]), leaves, 8);
      const __m512d hi = _mm512_i32gather_pd(_mm512_extracti64x4_epi64(p[v], 1), leaves, 8);
      _mm512_storeu_pd(acc + 16 * v, _mm512_add_pd(_mm512_loadu_pd(acc + 16 * v), lo));
      _mm512_storeu_pd(acc + 16 * v + 8, _mm512_add_pd(_mm512_loadu_pd(acc + 16 * v + 8), hi));
    }
  }
}

template <typename Acc>
using TreeBlockFn = void (*)(const int32_t*, const int32_t*, const Acc*, const float*, const int32_t*, Acc*);

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

// Keys of rows [row0, row0 + rows) into keysT (slot-major, B rows per slot;
// rows beyond `rows` get key 0, their results are dropped).
PYSCORE_AVX512 void BlockKeys(const float* X, int64_t row0, int64_t rows, int64_t x_stride, const int32_t* key_feature,
                              const int32_t* nan_key, int64_t U, int64_t B, int32_t* keysT) {
  const __m512i lane = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(static_cast<int32_t>(x_stride)));
  for (int64_t u = 0; u < U; ++u) {
    const __m512i nan = _mm512_set1_epi32(nan_key[u]);
    for (int64_t r = 0; r < B; r += 16) {
      const int64_t left = std::clamp<int64_t>(rows - r, 0, 16);
      const __mmask16 m = static_cast<__mmask16>((1u << left) - 1);
      const float* base = X + (row0 + r) * x_stride + key_feature[u];
      const __m512 x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, lane, base, 4);
      _mm512_storeu_si512(keysT + u * B + r, _mm512_maskz_mov_epi32(m, Keys16(x, nan)));
    }
  }
}

// One row's keys, 16 slots per vector (gathered from the row).
PYSCORE_AVX512 void RowKeys16(const float* x, const int32_t* key_feature, const int32_t* nan_key, int64_t U,
                              int32_t* keys) {
  for (int64_t u = 0; u < U; u += 16) {
    const __mmask16 m = static_cast<__mmask16>((1u << std::min<int64_t>(U - u, 16)) - 1);
    const __m512i f = _mm512_maskz_loadu_epi32(m, key_feature + u);
    const __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, f, x, 4);
    _mm512_mask_storeu_epi32(keys + u, m, Keys16(v, _mm512_maskz_loadu_epi32(m, nan_key + u)));
  }
}

}  // namespace

bool ForestAvx512::Supported() {
  static const bool ok = CpuHasAvx512();
  return ok;
}

bool ForestAvx512::Usable(const Forest& f) {
  // Gather indices are int32: node and leaf counts and 64 rows of keys must
  // stay below 2^31 (the caller checks 64 input rows).
  constexpr int64_t kLimit = int64_t{1} << 30;
  return f.complete_depth_ >= 1 && static_cast<int64_t>(f.cnodes_.size()) < kLimit &&
         static_cast<int64_t>(f.cleaves_.size()) < kLimit && int64_t{f.NKeys()} * 64 < kLimit;
}

namespace {

// Per key slot: how many of its distinct key thresholds lie below the row's
// key (the rank the rank layout compares, see Forest::BuildRankLayout).
PYSCORE_AVX512 void RowRanks(const int32_t* keys, const int32_t* slot_thr, const int32_t* slot_begin, int64_t U,
                             int32_t* ranks) {
  for (int64_t u = 0; u < U; ++u) {
    const __m512i k = _mm512_set1_epi32(keys[u]);
    int32_t below = 0;
    for (int32_t b = slot_begin[u]; b < slot_begin[u + 1]; b += 16) {
      below += _mm_popcnt_u32(_mm512_cmplt_epi32_mask(_mm512_loadu_si512(slot_thr + b), k));
    }
    ranks[u] = below;
  }
}

// Leaves of the runs of 16 consecutive complete trees for one row, on the
// rank layout: lanes are trees; a 16-bit node word by gather, the rank of its slot
// by gather from `ranks` (in L1), leaves by gather; up to kRunsAtOnce runs
// level by level so that their gathers overlap. leaf_out[t] for every tree t
// of a run.
constexpr int kRunsAtOnce = 4;

template <typename Acc>
PYSCORE_AVX512 void RunLeaves(const std::vector<int64_t>& runs, const int32_t* rbegin, const int32_t* lbegin,
                              const uint16_t* rnodes, const Acc* leaves, const float* leaves_f, int depth,
                              const int32_t* ranks, Acc* leaf_out) {
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i byte = _mm512_set1_epi32(0xff);
  const __m512i first_leaf = _mm512_set1_epi32((1 << depth) - 1);
  const auto* words = reinterpret_cast<const char*>(rnodes);
  const size_t n_runs = runs.size();
  for (size_t r0 = 0; r0 < n_runs; r0 += kRunsAtOnce) {
    const int m = static_cast<int>(std::min<size_t>(kRunsAtOnce, n_runs - r0));
    __m512i base[kRunsAtOnce], i[kRunsAtOnce];
    for (int j = 0; j < kRunsAtOnce; ++j) {
      base[j] = j < m ? _mm512_loadu_si512(rbegin + runs[r0 + j]) : _mm512_setzero_si512();
      i[j] = _mm512_setzero_si512();
    }
    for (int l = 0; l < depth; ++l) {
#pragma GCC unroll 4
      for (int j = 0; j < kRunsAtOnce; ++j) {
        if (j >= m) break;
        // 4 bytes at each 16-bit word: the word is the low half
        const __m512i node = _mm512_i32gather_epi32(_mm512_add_epi32(base[j], i[j]), words, 2);
        const __m512i rank = _mm512_i32gather_epi32(_mm512_and_si512(node, byte), ranks, 4);
        const __mmask16 right = _mm512_cmpgt_epi32_mask(rank, _mm512_and_si512(_mm512_srli_epi32(node, 8), byte));
        i[j] = _mm512_add_epi32(_mm512_add_epi32(i[j], i[j]), one);
        i[j] = _mm512_mask_add_epi32(i[j], right, i[j], one);
      }
    }
    for (int j = 0; j < m; ++j) {
      const int64_t t = runs[r0 + j];
      const __m512i leaf = _mm512_add_epi32(_mm512_loadu_si512(lbegin + t), _mm512_sub_epi32(i[j], first_leaf));
      if constexpr (std::is_same_v<Acc, float>) {
        _mm512_storeu_ps(leaf_out + t, _mm512_i32gather_ps(leaf, leaves, 4));
      } else if (leaves_f != nullptr) {  // float32 leaves widen exactly: one gather, half the bytes
        const __m512 lv = _mm512_i32gather_ps(leaf, leaves_f, 4);
        _mm512_storeu_pd(leaf_out + t, _mm512_cvtps_pd(_mm512_castps512_ps256(lv)));
        _mm512_storeu_pd(leaf_out + t + 8,
                         _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(lv), 1))));
      } else {
        _mm512_storeu_pd(leaf_out + t, _mm512_i32gather_pd(_mm512_castsi512_si256(leaf), leaves, 8));
        _mm512_storeu_pd(leaf_out + t + 8, _mm512_i32gather_pd(_mm512_extracti64x4_epi64(leaf, 1), leaves, 8));
      }
    }
  }
}

}  // namespace

void ForestAvx512::PredictMargin(const Forest& f, const float* X, int64_t n, int64_t x_stride,
                                 const int32_t* key_feature, double* out, int64_t out_stride) {
  const int64_t U = f.NKeys(), K = f.n_outputs_;
  // Keys of a block stay near L1: 64 rows while they fit 32 KiB, fewer beyond.
  const int NV = U * 64 * 4 <= 32 * 1024 ? 4 : U * 32 * 4 <= 32 * 1024 ? 2 : 1;
  const int64_t B = 16 * NV;
  auto run = [&](auto zero) {
    using Acc = decltype(zero);
    const Acc* leaves = nullptr;
    if constexpr (std::is_same_v<Acc, float>) {
      leaves = f.cleaves_f_.data();
    } else {
      leaves = f.cleaves_.data();
    }
    // With float32 sums the leaves are float already; with float64 sums of
    // leaves that are all float32 values (XGBoost), read those.
    const float* leaves_f = !std::is_same_v<Acc, float> && f.leaves_f32_exact_ ? f.cleaves_f_.data() : nullptr;
    const TreeBlockFn<Acc> kernel = NV == 4   ? PickTreeBlock<4, Acc>(f.complete_depth_)
                                    : NV == 2 ? PickTreeBlock<2, Acc>(f.complete_depth_)
                                              : PickTreeBlock<1, Acc>(f.complete_depth_);
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
          kernel(f.cthr_.data() + t.cnode_begin, f.ckey_.data() + t.cnode_begin, leaves + t.leaf_begin,
                 leaves_f == nullptr ? nullptr : leaves_f + t.leaf_begin, keysT.data(), a);
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

void ForestAvx512::PredictRow(const Forest& f, const float* x, const int32_t* key_feature, double* out) {
  const int64_t U = f.NKeys(), K = f.n_outputs_, n_trees = f.NTrees();
  // Called only with the rank layout, which exists for forests of up to 256 key slots.
  int32_t keys[256], ranks[256];
  RowKeys16(x, key_feature, f.key_nan_.data(), U, keys);
  RowRanks(keys, f.slot_thr_.data(), f.slot_thr_begin_.data(), U, ranks);
  auto run = [&](auto zero) {
    using Acc = decltype(zero);
    Acc stack_leaves[1024];
    std::vector<Acc> heap_leaves;
    Acc* leaf = stack_leaves;
    if (n_trees > 1024) {
      heap_leaves.resize(n_trees);
      leaf = heap_leaves.data();
    }
    const Acc* leaves = nullptr;
    if constexpr (std::is_same_v<Acc, float>) {
      leaves = f.cleaves_f_.data();
    } else {
      leaves = f.cleaves_.data();
    }
    RunLeaves<Acc>(f.runs16_, f.rbegin32_.data(), f.lbegin32_.data(), f.RankNodes(), leaves,
                   f.leaves_f32_exact_ ? f.cleaves_f_.data() : nullptr, f.complete_depth_, ranks, leaf);
    // Then every tree in order (the source library's summation order).
    Acc acc1 = static_cast<Acc>(f.base_score_[0]);
    std::vector<Acc> accK;
    Acc* acc = &acc1;
    if (K > 1) {
      accK.assign(f.base_score_.begin(), f.base_score_.end());
      acc = accK.data();
    }
    int64_t ti = 0;
    for (const int64_t first : f.runs16_) {
      for (; ti < first; ++ti) acc[f.trees_[ti].output] += static_cast<Acc>(f.TreeValue(f.trees_[ti], keys));
      if (K == 1) {
        for (const int64_t end = ti + 16; ti < end; ++ti) acc1 += leaf[ti];
      } else {
        for (const int64_t end = ti + 16; ti < end; ++ti) acc[f.trees_[ti].output] += leaf[ti];
      }
    }
    for (; ti < n_trees; ++ti) acc[f.trees_[ti].output] += static_cast<Acc>(f.TreeValue(f.trees_[ti], keys));
    for (int64_t k = 0; k < K; ++k) out[k] = static_cast<double>(acc[k]);
  };
  if (f.float32_sum_) {
    run(0.0f);
  } else {
    run(0.0);
  }
}

#endif  // PYSCORE_HAVE_AVX512_KERNELS

}  // namespace pyscore
