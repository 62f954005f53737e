// Forest: validation, compilation and evaluation of tree ensembles (see forest.h).
#include "pyscore/forest.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "pyscore/error.h"

namespace pyscore {

namespace {

constexpr int64_t kMaxBlockRows = 64;
constexpr int64_t kBlockKeyBytes = 32 * 1024;  // a block's row keys stay in L1
constexpr float kInf = std::numeric_limits<float>::infinity();

[[noreturn]] void BadNode(int64_t tree, int64_t node, const std::string& what) {
  std::ostringstream os;
  os << "forest: tree " << tree << " node " << node << ": " << what;
  throw std::invalid_argument(os.str());
}

// The largest float32 f with f <= d (d not NaN).
float FloorToFloat(double d) {
  float f = static_cast<float>(d);
  if (static_cast<double>(f) > d) f = std::nextafter(f, -kInf);
  return f;
}

// A float32 threshold t such that, for every float32 x that is not NaN,
// (x <= t) == (x OP d). NaN as t means "never true".
float NormaliseThreshold(double d, bool strict) {
  float f = FloorToFloat(d);
  if (strict && static_cast<double>(f) == d) {
    if (f == -kInf) return std::numeric_limits<float>::quiet_NaN();
    f = std::nextafter(f, -kInf);
  }
  return f;
}

// Sortable keys: for floats a, b that are not NaN, a <= b iff Key(a) <= Key(b)
// (-0 and +0 share key 0). A row is turned into one key per key slot: a
// (feature, NaN direction) pair read by some node, where NaN gets the
// smallest key (it goes left everywhere) or the largest (right everywhere).
// A step is then one integer load and one compare.
constexpr int32_t kNanLeft = std::numeric_limits<int32_t>::min();
constexpr int32_t kNanRight = std::numeric_limits<int32_t>::max();

inline int32_t Key(float x) {
  int32_t b;
  std::memcpy(&b, &x, sizeof b);
  if (x == 0.0f) return 0;
  return b >= 0 ? b : (b ^ 0x7fffffff);
}

// The key threshold of a normalised float threshold (NaN: never true).
int32_t KeyThreshold(float t) { return std::isnan(t) ? kNanLeft : Key(t); }


template <int D>
inline uint32_t LeafIndex(const Forest::CNode* nodes, const int32_t* keys) {
  uint32_t i = 0;
  for (int l = 0; l < D; ++l) {
    const Forest::CNode nd = nodes[i];
    i = 2 * i + 2 - static_cast<uint32_t>(keys[nd.key_index] <= nd.key_threshold);
  }
  return i - ((1u << D) - 1);
}

// Four complete trees of depth D for one row, in lock step: four independent
// chains of loads for the out-of-order core instead of one.
template <int D>
inline void LeafIndex4(const Forest::CNode* const* nodes, const int32_t* keys, uint32_t* leaf) {
  uint32_t i0 = 0, i1 = 0, i2 = 0, i3 = 0;
  for (int l = 0; l < D; ++l) {
    const Forest::CNode a = nodes[0][i0], b = nodes[1][i1], c = nodes[2][i2], d = nodes[3][i3];
    i0 = 2 * i0 + 2 - static_cast<uint32_t>(keys[a.key_index] <= a.key_threshold);
    i1 = 2 * i1 + 2 - static_cast<uint32_t>(keys[b.key_index] <= b.key_threshold);
    i2 = 2 * i2 + 2 - static_cast<uint32_t>(keys[c.key_index] <= c.key_threshold);
    i3 = 2 * i3 + 2 - static_cast<uint32_t>(keys[d.key_index] <= d.key_threshold);
  }
  constexpr uint32_t base = (1u << D) - 1;
  leaf[0] = i0 - base;
  leaf[1] = i1 - base;
  leaf[2] = i2 - base;
  leaf[3] = i3 - base;
}

void CompleteLeaf4(int depth, const Forest::CNode* const* nodes, const int32_t* keys, uint32_t* leaf) {
  switch (depth) {
    case 1: return LeafIndex4<1>(nodes, keys, leaf);
    case 2: return LeafIndex4<2>(nodes, keys, leaf);
    case 3: return LeafIndex4<3>(nodes, keys, leaf);
    case 4: return LeafIndex4<4>(nodes, keys, leaf);
    case 5: return LeafIndex4<5>(nodes, keys, leaf);
    case 6: return LeafIndex4<6>(nodes, keys, leaf);
    case 7: return LeafIndex4<7>(nodes, keys, leaf);
    default: return LeafIndex4<8>(nodes, keys, leaf);
  }
}

// One complete tree of depth D over a block of rows, level by level: the
// rows' steps are independent, so their loads overlap; the first level's
// node is the same for every row.
template <int D, typename Acc>
void CompleteRows(const Forest::CNode* nodes, const Acc* leaves, const int32_t* keys, int64_t stride,
                  int64_t nrows, Acc* acc, int64_t K) {
  uint32_t idx[kMaxBlockRows];
  {
    const Forest::CNode nd = nodes[0];
    const int32_t* k = keys + nd.key_index;
    for (int64_t r = 0; r < nrows; ++r) idx[r] = 2 - static_cast<uint32_t>(k[r * stride] <= nd.key_threshold);
  }
  for (int l = 1; l < D; ++l) {
    for (int64_t r = 0; r < nrows; ++r) {
      const Forest::CNode nd = nodes[idx[r]];
      idx[r] = 2 * idx[r] + 2 - static_cast<uint32_t>(keys[r * stride + nd.key_index] <= nd.key_threshold);
    }
  }
  for (int64_t r = 0; r < nrows; ++r) acc[r * K] += leaves[idx[r] - ((1u << D) - 1)];
}

template <typename Acc>
using CompleteFn = void (*)(const Forest::CNode*, const Acc*, const int32_t*, int64_t, int64_t, Acc*, int64_t);

template <typename Acc>
CompleteFn<Acc> CompleteKernel(int depth) {
  switch (depth) {
    case 1: return &CompleteRows<1, Acc>;
    case 2: return &CompleteRows<2, Acc>;
    case 3: return &CompleteRows<3, Acc>;
    case 4: return &CompleteRows<4, Acc>;
    case 5: return &CompleteRows<5, Acc>;
    case 6: return &CompleteRows<6, Acc>;
    case 7: return &CompleteRows<7, Acc>;
    case 8: return &CompleteRows<8, Acc>;
    default: throw Error("forest: no complete-tree kernel for this depth");
  }
}

uint32_t CompleteLeaf(int depth, const Forest::CNode* nodes, const int32_t* keys) {
  switch (depth) {
    case 1: return LeafIndex<1>(nodes, keys);
    case 2: return LeafIndex<2>(nodes, keys);
    case 3: return LeafIndex<3>(nodes, keys);
    case 4: return LeafIndex<4>(nodes, keys);
    case 5: return LeafIndex<5>(nodes, keys);
    case 6: return LeafIndex<6>(nodes, keys);
    case 7: return LeafIndex<7>(nodes, keys);
    default: return LeafIndex<8>(nodes, keys);
  }
}

}  // namespace

const char* PostTransformToString(PostTransform p) {
  switch (p) {
    case PostTransform::kIdentity: return "identity";
    case PostTransform::kSigmoid: return "sigmoid";
    case PostTransform::kSoftmax: return "softmax";
  }
  return "?";
}

PostTransform PostTransformFromString(const std::string& s) {
  if (s == "identity" || s == "identity_multiclass") return PostTransform::kIdentity;
  if (s == "sigmoid") return PostTransform::kSigmoid;
  if (s == "softmax") return PostTransform::kSoftmax;
  throw std::invalid_argument("forest: unsupported post-transform '" + s +
                              "' (supported: identity, sigmoid, softmax)");
}

Forest::Forest(const ForestSpec& s)
    : n_features_(s.n_features),
      n_outputs_(s.n_outputs),
      post_(s.post_transform),
      sigmoid_alpha_(s.sigmoid_alpha),
      float32_sum_(s.float32_sum) {
  PYSCORE_ARG_CHECK(s.n_features > 0 && s.n_features <= (1 << 24), "forest: n_features must be in [1, 2^24]");
  PYSCORE_ARG_CHECK(s.n_outputs > 0, "forest: n_outputs must be positive");
  PYSCORE_ARG_CHECK(s.n_trees > 0, "forest: a forest needs at least one tree");
  PYSCORE_ARG_CHECK(s.n_nodes > 0 && s.n_nodes < std::numeric_limits<int32_t>::max(),
                    "forest: node count out of range");
  PYSCORE_ARG_CHECK(s.post_transform != PostTransform::kSoftmax || s.n_outputs >= 2,
                    "forest: softmax needs at least two outputs");
  PYSCORE_ARG_CHECK(s.post_transform != PostTransform::kSigmoid || s.n_outputs == 1,
                    "forest: sigmoid needs exactly one output");
  PYSCORE_ARG_CHECK(std::isfinite(s.sigmoid_alpha) && s.sigmoid_alpha > 0,
                    "forest: sigmoid_alpha must be finite and positive");
  PYSCORE_ARG_CHECK(s.tree_offsets[0] == 0, "forest: tree_offsets must start at 0");
  PYSCORE_ARG_CHECK(s.tree_offsets[s.n_trees] == s.n_nodes,
                    "forest: tree_offsets must end at the number of nodes");
  for (int32_t k = 0; k < n_outputs_; ++k) {
    PYSCORE_ARG_CHECK(std::isfinite(s.base_score[k]), "forest: base_score must be finite");
    base_score_.push_back(s.base_score[k]);
  }

  nodes_.resize(s.n_nodes);
  default_left_.resize(s.n_nodes);
  leaf_value_.assign(s.n_nodes, 0.0);
  expected_.assign(s.n_nodes, 0.0);
  cover_.assign(s.n_nodes, 0.0);
  std::vector<int32_t> parents;
  std::vector<int32_t> depth;
  for (int64_t t = 0; t < s.n_trees; ++t) {
    const int64_t begin = s.tree_offsets[t];
    const int64_t size = s.tree_offsets[t + 1] - begin;
    if (size <= 0) BadNode(t, 0, "tree_offsets must be strictly increasing (empty tree)");
    const int32_t out = s.tree_output[t];
    if (out < 0 || out >= n_outputs_) BadNode(t, 0, "tree output " + std::to_string(out) + " not in [0, n_outputs)");
    parents.assign(size, 0);
    depth.assign(size, 0);
    for (int64_t i = 0; i < size; ++i) {
      const int64_t g = begin + i;
      const int32_t f = s.feature[g];
      const double cov = s.cover ? s.cover[g] : 1.0;
      if (!(std::isfinite(cov) && cov >= 0)) BadNode(t, i, "cover must be finite and >= 0");
      Node& nd = nodes_[g];
      if (f == -1) {
        if (s.left[g] != -1 || s.right[g] != -1) BadNode(t, i, "a leaf (feature -1) must have children -1");
        if (!std::isfinite(s.leaf_value[g])) BadNode(t, i, "leaf value is not finite");
        nd = Node{0.0f, -1, -1, -1};
        leaf_value_[g] = s.leaf_value[g];
        cover_[g] = cov;
        continue;
      }
      if (f < -1 || f >= n_features_) {
        BadNode(t, i, "feature " + std::to_string(f) + " not in [0, " + std::to_string(n_features_) + ")");
      }
      const int32_t l = s.left[g], r = s.right[g];
      if (l <= i || l >= size || r <= i || r >= size || l == r) {
        BadNode(t, i, "children (" + std::to_string(l) + ", " + std::to_string(r) +
                          ") must be distinct, greater than the parent and inside the tree");
      }
      const int8_t op = s.op[g];
      if (op < 0 || op > 3) BadNode(t, i, "unknown comparison operator " + std::to_string(op));
      if (std::isnan(s.threshold[g])) BadNode(t, i, "threshold is NaN");
      ++parents[l];
      ++parents[r];
      depth[l] = depth[r] = depth[i] + 1;
      // x >= d is not (x < d), x > d is not (x <= d): swap the children.
      const bool swap = op == static_cast<int8_t>(SplitOp::kGE) || op == static_cast<int8_t>(SplitOp::kGT);
      const bool strict = op == static_cast<int8_t>(SplitOp::kLT) || op == static_cast<int8_t>(SplitOp::kGE);
      nd.threshold = NormaliseThreshold(s.threshold[g], strict);
      nd.feature = f;
      nd.left = static_cast<int32_t>(begin + (swap ? r : l));
      nd.right = static_cast<int32_t>(begin + (swap ? l : r));
      default_left_[g] = static_cast<uint8_t>((s.default_left[g] != 0) != swap);
    }
    for (int64_t i = 1; i < size; ++i) {
      if (parents[i] != 1) BadNode(t, i, "reached from " + std::to_string(parents[i]) + " parents (must be exactly 1)");
    }
    const int32_t tree_depth = *std::max_element(depth.begin(), depth.end());
    if (tree_depth > kMaxDepth) BadNode(t, 0, "deeper than " + std::to_string(kMaxDepth));
    max_depth_ = std::max(max_depth_, tree_depth);
    // Cover and expected value bottom-up: children come after their parent.
    for (int64_t i = size - 1; i >= 0; --i) {
      const int64_t g = begin + i;
      const Node& nd = nodes_[g];
      if (nd.feature < 0) {
        expected_[g] = leaf_value_[g];
        continue;
      }
      const double wl = cover_[nd.left], wr = cover_[nd.right], w = wl + wr;
      cover_[g] = w;
      expected_[g] = w > 0 ? (wl * expected_[nd.left] + wr * expected_[nd.right]) / w
                           : 0.5 * (expected_[nd.left] + expected_[nd.right]);
    }
    trees_.push_back(Tree{out, tree_depth, static_cast<int32_t>(begin), -1, -1});
  }

  AssignKeySlots();
  // Complete layout for shallow trees, all padded to the same depth: a few
  // extra steps for the shallower trees cost less than breaking the runs of
  // equal-depth trees (and mispredicting the per-depth dispatch).
  int complete_depth = 0;
  for (const Tree& tree : trees_) {
    if (tree.depth >= 1 && tree.depth <= kMaxCompleteDepth) complete_depth = std::max(complete_depth, tree.depth);
  }
  for (Tree& tree : trees_) {
    if (tree.depth < 1 || tree.depth > kMaxCompleteDepth) continue;
    tree.depth = complete_depth;  // the layout's depth; max_depth_ keeps the real one
    const int D = tree.depth;
    tree.cnode_begin = static_cast<int64_t>(cnodes_.size());
    tree.leaf_begin = static_cast<int64_t>(cleaves_.size());
    cnodes_.resize(cnodes_.size() + (size_t{1} << D) - 1);
    cleaves_.resize(cleaves_.size() + (size_t{1} << D));
    CNode* cn = cnodes_.data() + tree.cnode_begin;
    double* leaves = cleaves_.data() + tree.leaf_begin;
    const uint32_t leaf_base = (1u << D) - 1;
    // Iterative fill: (node, position, level); a leaf above the last level
    // fills its whole subtree with padding nodes and copies of its value.
    struct Item { int32_t node; uint32_t pos; int level; };
    std::vector<Item> stack{{tree.root, 0, 0}};
    while (!stack.empty()) {
      const Item it = stack.back();
      stack.pop_back();
      const Node& nd = nodes_[it.node];
      if (it.level == D) {
        leaves[it.pos - leaf_base] = leaf_value_[it.node];
        continue;
      }
      if (nd.feature < 0) {
        cn[it.pos] = CNode{kNanLeft, 0u};  // either way: both subtrees are copies of the leaf
        stack.push_back({it.node, 2 * it.pos + 1, it.level + 1});
        stack.push_back({it.node, 2 * it.pos + 2, it.level + 1});
        continue;
      }
      cn[it.pos] = CNode{knodes_[it.node].key_threshold, knodes_[it.node].key_index};
      stack.push_back({nd.left, 2 * it.pos + 1, it.level + 1});
      stack.push_back({nd.right, 2 * it.pos + 2, it.level + 1});
    }
  }
  complete_depth_ = complete_depth;
  cleaves_f_.assign(cleaves_.begin(), cleaves_.end());
  leaves_f32_exact_ = std::equal(cleaves_.begin(), cleaves_.end(), cleaves_f_.begin(),
                                 [](double d, float f) { return d == static_cast<double>(f); });
  cthr_.resize(cnodes_.size());
  ckey_.resize(cnodes_.size());
  for (size_t i = 0; i < cnodes_.size(); ++i) {
    cthr_[i] = cnodes_[i].key_threshold;
    ckey_[i] = static_cast<int32_t>(cnodes_[i].key_index);
  }
  for (const Tree& tree : trees_) {
    cbegin32_.push_back(static_cast<int32_t>(tree.cnode_begin));
    lbegin32_.push_back(static_cast<int32_t>(tree.leaf_begin));
  }
  for (size_t t = 0; t + 16 <= trees_.size();) {
    size_t j = t;
    while (j < t + 16 && trees_[j].cnode_begin >= 0) ++j;
    if (j == t + 16) {
      runs16_.push_back(static_cast<int64_t>(t));
      t += 16;
    } else {
      t = j + 1;
    }
  }
  BuildRankLayout();
  // Runs of four consecutive complete trees of equal depth (single-row path).
  for (size_t t = 0; t + 4 <= trees_.size();) {
    bool same = true;
    for (size_t j = t; j < t + 4; ++j) same = same && trees_[j].cnode_begin >= 0 && trees_[j].depth == trees_[t].depth;
    if (same) {
      quads_.push_back(static_cast<int64_t>(t));
      t += 4;
    } else {
      ++t;
    }
  }
}

void Forest::BuildRankLayout() {
  const int64_t U = NKeys();
  if (complete_depth_ < 1 || U < 1 || U > 256) return;
  std::vector<std::vector<int32_t>> thresholds(U);
  for (const CNode& nd : cnodes_) thresholds[nd.key_index].push_back(nd.key_threshold);
  slot_thr_begin_.push_back(0);
  for (std::vector<int32_t>& t : thresholds) {
    std::sort(t.begin(), t.end());
    t.erase(std::unique(t.begin(), t.end()), t.end());
    if (t.size() > 256) {  // ranks must fit 8 bits
      slot_thr_.clear();
      slot_thr_begin_.clear();
      return;
    }
    slot_thr_.insert(slot_thr_.end(), t.begin(), t.end());
    slot_thr_.resize((slot_thr_.size() + 15) / 16 * 16, std::numeric_limits<int32_t>::max());
    slot_thr_begin_.push_back(static_cast<int32_t>(slot_thr_.size()));
  }
  const int64_t words = int64_t{1} << complete_depth_;
  if (NCompleteTrees() * words >= (int64_t{1} << 30)) {  // gather offsets are int32
    slot_thr_.clear();
    slot_thr_begin_.clear();
    return;
  }
  rnodes_.assign(NCompleteTrees() * words + 33, 0u);
  uint16_t* out = const_cast<uint16_t*>(RankNodes());
  int64_t k = 0;
  for (const Tree& tree : trees_) {
    if (tree.cnode_begin < 0) {
      rbegin32_.push_back(-1);
      continue;
    }
    rbegin32_.push_back(static_cast<int32_t>(k * words));
    for (int64_t i = 0; i + 1 < words; ++i) {
      const CNode& nd = cnodes_[tree.cnode_begin + i];
      const std::vector<int32_t>& t = thresholds[nd.key_index];
      const auto rank = static_cast<uint32_t>(std::lower_bound(t.begin(), t.end(), nd.key_threshold) - t.begin());
      out[k * words + i] = static_cast<uint16_t>(rank << 8 | nd.key_index);
    }
    ++k;
  }
}

int64_t Forest::NCompleteTrees() const {
  return std::count_if(trees_.begin(), trees_.end(), [](const Tree& t) { return t.cnode_begin >= 0; });
}

// One key slot per (feature, NaN direction) that some node tests, in feature
// order (the row is then read front to back); knodes_ mirrors nodes_ on keys.
void Forest::AssignKeySlots() {
  std::vector<int32_t> slot(2 * static_cast<size_t>(n_features_), -1);
  for (size_t g = 0; g < nodes_.size(); ++g) {
    if (nodes_[g].feature >= 0) slot[2 * nodes_[g].feature + (default_left_[g] ? 0 : 1)] = 0;
  }
  for (size_t j = 0; j < slot.size(); ++j) {
    if (slot[j] < 0) continue;
    slot[j] = static_cast<int32_t>(key_feature_.size());
    key_feature_.push_back(static_cast<int32_t>(j / 2));
    key_nan_.push_back(j % 2 == 0 ? kNanLeft : kNanRight);
  }
  knodes_.resize(nodes_.size());
  for (size_t g = 0; g < nodes_.size(); ++g) {
    const Node& nd = nodes_[g];
    if (nd.feature < 0) {
      knodes_[g] = KNode{kNanLeft, 0u, -1, -1};
      continue;
    }
    const int32_t u = slot[2 * nd.feature + (default_left_[g] ? 0 : 1)];
    knodes_[g] = KNode{KeyThreshold(nd.threshold), static_cast<uint32_t>(u), nd.left, nd.right};
  }
}

void Forest::RowKeys(const float* x, const int32_t* key_feature, int32_t* keys) const {
  const int64_t U = NKeys();
  const int32_t* nan_key = key_nan_.data();
  for (int64_t u = 0; u < U; ++u) {
    const float v = x[key_feature[u]];
    keys[u] = v != v ? nan_key[u] : Key(v);
  }
}

double Forest::TreeValue(const Tree& t, const int32_t* keys) const {
  if (t.cnode_begin >= 0) return cleaves_[t.leaf_begin + CompleteLeaf(t.depth, cnodes_.data() + t.cnode_begin, keys)];
  return DeepTreeValue(t, keys, 1);
}

double Forest::DeepTreeValue(const Tree& t, const int32_t* keys, int64_t key_stride) const {
  int32_t i = t.root;
  while (knodes_[i].left >= 0) {
    const KNode& nd = knodes_[i];
    i = keys[nd.key_index * key_stride] <= nd.key_threshold ? nd.left : nd.right;
  }
  return leaf_value_[i];
}

template <typename Acc>
void Forest::PredictMarginImpl(const float* X, int64_t n, int64_t x_stride, const int32_t* key_feature,
                               double* out, int64_t out_stride) const {
  const int64_t K = n_outputs_, stride = std::max<int64_t>(NKeys(), 1);
  const Acc* leaves = nullptr;
  if constexpr (std::is_same_v<Acc, float>) {
    leaves = cleaves_f_.data();
  } else {
    leaves = cleaves_.data();
  }
  std::vector<CompleteFn<Acc>> kernels;
  for (const Tree& t : trees_) kernels.push_back(t.cnode_begin >= 0 ? CompleteKernel<Acc>(t.depth) : nullptr);
  const int64_t block = std::clamp<int64_t>(kBlockKeyBytes / (stride * 4) / 8 * 8, 8, kMaxBlockRows);
  std::vector<Acc> acc(block * K);
  std::vector<int32_t> keys(block * stride);
  for (int64_t row0 = 0; row0 < n; row0 += block) {
    const int64_t rows = std::min(block, n - row0);
    for (int64_t r = 0; r < rows; ++r) {
      RowKeys(X + (row0 + r) * x_stride, key_feature, keys.data() + r * stride);
      for (int64_t k = 0; k < K; ++k) acc[r * K + k] = static_cast<Acc>(base_score_[k]);
    }
    for (size_t ti = 0; ti < trees_.size(); ++ti) {
      const Tree& t = trees_[ti];
      Acc* a = acc.data() + t.output;
      if (kernels[ti] != nullptr) {
        kernels[ti](cnodes_.data() + t.cnode_begin, leaves + t.leaf_begin, keys.data(), stride, rows, a, K);
        continue;
      }
      for (int64_t r = 0; r < rows; ++r) a[r * K] += static_cast<Acc>(DeepTreeValue(t, keys.data() + r * stride, 1));
    }
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t k = 0; k < K; ++k) out[(row0 + r) * out_stride + k] = static_cast<double>(acc[r * K + k]);
    }
  }
}

template <typename Acc>
void Forest::PredictRowImpl(const float* x, const int32_t* key_feature, double* out) const {
  const int64_t U = NKeys(), K = n_outputs_;
  int32_t stack_keys[512];
  std::vector<int32_t> heap_keys;
  int32_t* keys = stack_keys;
  if (U > 512) {
    heap_keys.resize(U);
    keys = heap_keys.data();
  }
  RowKeys(x, key_feature, keys);
  Acc acc1 = static_cast<Acc>(base_score_[0]);
  std::vector<Acc> accK;
  Acc* acc = &acc1;
  if (K > 1) {
    accK.assign(base_score_.begin(), base_score_.end());
    acc = accK.data();
  }
  // Trees in order (the summation order of the source library); runs of four
  // equal-depth complete trees are walked together.
  const int64_t n_trees = static_cast<int64_t>(trees_.size());
  int64_t ti = 0;
  const CNode* group[4];
  uint32_t leaf[4];
  for (const int64_t first : quads_) {
    for (; ti < first; ++ti) acc[trees_[ti].output] += static_cast<Acc>(TreeValue(trees_[ti], keys));
    for (int j = 0; j < 4; ++j) group[j] = cnodes_.data() + trees_[ti + j].cnode_begin;
    CompleteLeaf4(trees_[ti].depth, group, keys, leaf);
    for (int j = 0; j < 4; ++j, ++ti) {
      acc[trees_[ti].output] += static_cast<Acc>(cleaves_[trees_[ti].leaf_begin + leaf[j]]);
    }
  }
  for (; ti < n_trees; ++ti) acc[trees_[ti].output] += static_cast<Acc>(TreeValue(trees_[ti], keys));
  for (int64_t k = 0; k < K; ++k) out[k] = static_cast<double>(acc[k]);
}

void Forest::PostProcess(double* row) const {
  if (post_ == PostTransform::kSigmoid) {
    row[0] = 1.0 / (1.0 + std::exp(-sigmoid_alpha_ * row[0]));
  } else if (post_ == PostTransform::kSoftmax) {
    const double mx = *std::max_element(row, row + n_outputs_);
    double sum = 0;
    for (int32_t k = 0; k < n_outputs_; ++k) sum += (row[k] = std::exp(row[k] - mx));
    for (int32_t k = 0; k < n_outputs_; ++k) row[k] /= sum;
  }
}

namespace {
std::atomic<int> g_simd_level{-1};  // -1: not chosen yet
}  // namespace

int Forest::MaxSimdLevel() {
  static const int level = ForestAvx512::Supported() ? 2 : ForestAvx2::Supported() ? 1 : 0;
  return level;
}

void Forest::SetSimdLevel(int level) {
  PYSCORE_ARG_CHECK(level >= 0 && level <= 2, "forest: simd level must be 0 (scalar), 1 (AVX2) or 2 (AVX-512)");
  PYSCORE_ARG_CHECK(level <= MaxSimdLevel(), "forest: this CPU does not run simd level " + std::to_string(level) +
                                                 " (highest: " + std::to_string(MaxSimdLevel()) + ")");
  g_simd_level.store(level);
}

int Forest::SimdLevel() {
  int level = g_simd_level.load(std::memory_order_relaxed);
  if (level < 0) {
    level = MaxSimdLevel();
    g_simd_level.store(level);
  }
  return level;
}

void Forest::PredictMapped(const float* X, int64_t n, int64_t x_stride, const int32_t* key_feature, double* out,
                           int64_t out_stride, bool post) const {
  // The kernels gather from 64 input rows with 32-bit offsets.
  const int level = SimdLevel();
  const bool simd = level >= 1 && ForestAvx512::Usable(*this) && x_stride * 64 < (int64_t{1} << 31);
  if (simd && level == 2) {
    ForestAvx512::PredictMargin(*this, X, n, x_stride, key_feature, out, out_stride);
  } else if (simd && level == 1) {
    ForestAvx2::PredictMargin(*this, X, n, x_stride, key_feature, out, out_stride);
  } else if (float32_sum_) {
    PredictMarginImpl<float>(X, n, x_stride, key_feature, out, out_stride);
  } else {
    PredictMarginImpl<double>(X, n, x_stride, key_feature, out, out_stride);
  }
  if (!post || post_ == PostTransform::kIdentity) return;
  for (int64_t r = 0; r < n; ++r) PostProcess(out + r * out_stride);
}

void Forest::PredictRowMapped(const float* x, const int32_t* key_feature, double* out) const {
  if (SimdLevel() == 2 && ForestAvx512::Usable(*this) && !rnodes_.empty()) {
    ForestAvx512::PredictRow(*this, x, key_feature, out);
  } else if (float32_sum_) {
    PredictRowImpl<float>(x, key_feature, out);
  } else {
    PredictRowImpl<double>(x, key_feature, out);
  }
  PostProcess(out);
}

void Forest::PredictMargin(const float* X, int64_t n, double* out) const {
  PredictMapped(X, n, n_features_, key_feature_.data(), out, n_outputs_, false);
}

void Forest::Predict(const float* X, int64_t n, double* out) const {
  PredictMapped(X, n, n_features_, key_feature_.data(), out, n_outputs_, true);
}

void Forest::PredictRow(const float* x, double* out) const { PredictRowMapped(x, key_feature_.data(), out); }
int32_t Forest::PickOutput(const double* margin, int32_t output) const {
  if (output >= 0) return output;
  return static_cast<int32_t>(std::max_element(margin, margin + n_outputs_) - margin);
}

void Forest::SaabasRow(const float* x, int32_t output, double* out) const {
  std::fill(out, out + n_features_ + 1, 0.0);
  double& bias = out[n_features_];
  bias = base_score_[output];
  for (const Tree& t : trees_) {
    if (t.output != output) continue;
    int32_t i = t.root;
    bias += expected_[i];
    while (nodes_[i].feature >= 0) {
      const int32_t c = GoesLeft(i, x[nodes_[i].feature]) ? nodes_[i].left : nodes_[i].right;
      out[nodes_[i].feature] += expected_[c] - expected_[i];
      i = c;
    }
  }
}

// TreeSHAP path bookkeeping (Lundberg, Erion & Lee 2018, Algorithm 2).
namespace {

using PathElement = Forest::PathElement;

void ExtendPath(PathElement* path, int depth, double zero_fraction, double one_fraction, int32_t feature) {
  path[depth] = PathElement{feature, zero_fraction, one_fraction, depth == 0 ? 1.0 : 0.0};
  for (int i = depth - 1; i >= 0; --i) {
    path[i + 1].pweight += one_fraction * path[i].pweight * (i + 1) / static_cast<double>(depth + 1);
    path[i].pweight = zero_fraction * path[i].pweight * (depth - i) / static_cast<double>(depth + 1);
  }
}

void UnwindPath(PathElement* path, int depth, int index) {
  const double one = path[index].one_fraction, zero = path[index].zero_fraction;
  double next_one_portion = path[depth].pweight;
  for (int i = depth - 1; i >= 0; --i) {
    if (one != 0) {
      const double tmp = path[i].pweight;
      path[i].pweight = next_one_portion * (depth + 1) / ((i + 1) * one);
      next_one_portion = tmp - path[i].pweight * zero * (depth - i) / static_cast<double>(depth + 1);
    } else {
      path[i].pweight = path[i].pweight * (depth + 1) / (zero * (depth - i));
    }
  }
  for (int i = index; i < depth; ++i) {
    path[i].feature = path[i + 1].feature;
    path[i].zero_fraction = path[i + 1].zero_fraction;
    path[i].one_fraction = path[i + 1].one_fraction;
  }
}

double UnwoundPathSum(const PathElement* path, int depth, int index) {
  const double one = path[index].one_fraction, zero = path[index].zero_fraction;
  double next_one_portion = path[depth].pweight, total = 0;
  for (int i = depth - 1; i >= 0; --i) {
    if (one != 0) {
      const double tmp = next_one_portion * (depth + 1) / ((i + 1) * one);
      total += tmp;
      next_one_portion = path[i].pweight - tmp * zero * ((depth - i) / static_cast<double>(depth + 1));
    } else {
      total += (path[i].pweight / zero) / ((depth - i) / static_cast<double>(depth + 1));
    }
  }
  return total;
}

}  // namespace

void Forest::ShapRecurse(const float* x, double* phi, int32_t node, int unique_depth, PathElement* parent_path,
                         double parent_zero_fraction, double parent_one_fraction, int32_t parent_feature) const {
  PathElement* path = parent_path + unique_depth + 1;
  std::copy(parent_path, parent_path + unique_depth + 1, path);
  ExtendPath(path, unique_depth, parent_zero_fraction, parent_one_fraction, parent_feature);
  const Node& nd = nodes_[node];
  if (nd.feature < 0) {
    for (int i = 1; i <= unique_depth; ++i) {
      const double w = UnwoundPathSum(path, unique_depth, i);
      phi[path[i].feature] += w * (path[i].one_fraction - path[i].zero_fraction) * leaf_value_[node];
    }
    return;
  }
  const bool left = GoesLeft(node, x[nd.feature]);
  const int32_t hot = left ? nd.left : nd.right, cold = left ? nd.right : nd.left;
  const double w = cover_[node];
  const double hot_zero = w > 0 ? cover_[hot] / w : 0.5, cold_zero = w > 0 ? cover_[cold] / w : 0.5;
  double incoming_zero = 1, incoming_one = 1;
  int index = 0;
  for (; index <= unique_depth; ++index) {
    if (path[index].feature == nd.feature) break;
  }
  if (index != unique_depth + 1) {
    incoming_zero = path[index].zero_fraction;
    incoming_one = path[index].one_fraction;
    UnwindPath(path, unique_depth, index);
    unique_depth -= 1;
  }
  ShapRecurse(x, phi, hot, unique_depth + 1, path, hot_zero * incoming_zero, incoming_one, nd.feature);
  ShapRecurse(x, phi, cold, unique_depth + 1, path, cold_zero * incoming_zero, 0, nd.feature);
}

void Forest::ShapRow(const float* x, int32_t output, double* out, std::vector<PathElement>& scratch) const {
  std::fill(out, out + n_features_ + 1, 0.0);
  out[n_features_] = base_score_[output];
  const size_t need = static_cast<size_t>(max_depth_ + 2) * (max_depth_ + 3) / 2 + 1;
  if (scratch.size() < need) scratch.resize(need);
  for (const Tree& t : trees_) {
    if (t.output != output) continue;
    out[n_features_] += expected_[t.root];
    if (nodes_[t.root].feature < 0) continue;
    ShapRecurse(x, out, t.root, 0, scratch.data(), 1.0, 1.0, -1);
  }
}

void Forest::Contributions(const float* X, int64_t n, int32_t output, double* out) const {
  PYSCORE_ARG_CHECK(output < n_outputs_, "forest: output index out of range");
  std::vector<double> margin(n_outputs_);
  for (int64_t r = 0; r < n; ++r) {
    const float* x = X + r * n_features_;
    int32_t k = output;
    if (k < 0) {
      PredictRowImpl<double>(x, key_feature_.data(), margin.data());
      k = PickOutput(margin.data(), output);
    }
    SaabasRow(x, k, out + r * (n_features_ + 1));
  }
}

void Forest::ShapContributions(const float* X, int64_t n, int32_t output, double* out) const {
  PYSCORE_ARG_CHECK(output < n_outputs_, "forest: output index out of range");
  std::vector<double> margin(n_outputs_);
  std::vector<PathElement> scratch;
  for (int64_t r = 0; r < n; ++r) {
    const float* x = X + r * n_features_;
    int32_t k = output;
    if (k < 0) {
      PredictRowImpl<double>(x, key_feature_.data(), margin.data());
      k = PickOutput(margin.data(), output);
    }
    ShapRow(x, k, out + r * (n_features_ + 1), scratch);
  }
}

void Forest::TopContributions(const float* X, int64_t n, int32_t output, int32_t k, int method,
                              int32_t* features, double* values, double* bias) const {
  PYSCORE_ARG_CHECK(output < n_outputs_, "forest: output index out of range");
  PYSCORE_ARG_CHECK(k >= 0, "forest: top_k must be >= 0");
  PYSCORE_ARG_CHECK(method == 0 || method == 1, "forest: method must be 0 (saabas) or 1 (treeshap)");
  const int32_t kk = std::min(k, n_features_);
  std::vector<double> row(n_features_ + 1), margin(n_outputs_);
  std::vector<int32_t> order(n_features_);
  std::vector<PathElement> scratch;
  for (int64_t r = 0; r < n; ++r) {
    const float* x = X + r * n_features_;
    int32_t o = output;
    if (o < 0) {
      PredictRowImpl<double>(x, key_feature_.data(), margin.data());
      o = PickOutput(margin.data(), output);
    }
    if (method == 0) {
      SaabasRow(x, o, row.data());
    } else {
      ShapRow(x, o, row.data(), scratch);
    }
    std::iota(order.begin(), order.end(), 0);
    // By magnitude, ties broken by feature index so that results are stable.
    std::partial_sort(order.begin(), order.begin() + kk, order.end(), [&](int32_t a, int32_t b) {
      const double fa = std::fabs(row[a]), fb = std::fabs(row[b]);
      return fa != fb ? fa > fb : a < b;
    });
    for (int32_t j = 0; j < kk; ++j) {
      features[r * kk + j] = order[j];
      values[r * kk + j] = row[order[j]];
    }
    bias[r] = row[n_features_];
  }
}

ForestSet::ForestSet(std::vector<const Forest*> forests, const std::vector<std::vector<int32_t>>& columns,
                     int32_t n_inputs)
    : forests_(std::move(forests)), n_inputs_(n_inputs) {
  PYSCORE_ARG_CHECK(!forests_.empty(), "forest set: needs at least one forest");
  PYSCORE_ARG_CHECK(columns.size() == forests_.size(), "forest set: one column map per forest");
  PYSCORE_ARG_CHECK(n_inputs > 0, "forest set: n_inputs must be positive");
  offsets_.push_back(0);
  for (size_t i = 0; i < forests_.size(); ++i) {
    const Forest* f = forests_[i];
    PYSCORE_ARG_CHECK(f != nullptr, "forest set: null forest");
    const std::vector<int32_t>& cols = columns[i];
    const std::string which = "forest set: forest " + std::to_string(i);
    PYSCORE_ARG_CHECK(cols.empty() || static_cast<int64_t>(cols.size()) == f->NFeatures(),
                      which + ": column map must have one entry per feature (" + std::to_string(f->NFeatures()) + ")");
    PYSCORE_ARG_CHECK(!cols.empty() || f->NFeatures() <= n_inputs, which + ": has more features than the row");
    for (const int32_t c : cols) {
      PYSCORE_ARG_CHECK(c >= 0 && c < n_inputs, which + ": column " + std::to_string(c) + " not in [0, n_inputs)");
    }
    std::vector<int32_t> kf = f->KeyFeatures();
    if (!cols.empty()) {
      for (int32_t& j : kf) j = cols[j];
    }
    key_feature_.push_back(std::move(kf));
    offsets_.push_back(offsets_.back() + f->NOutputs());
  }
}

void ForestSet::PredictRow(const float* x, double* out) const {
  for (size_t i = 0; i < forests_.size(); ++i) forests_[i]->PredictRowMapped(x, key_feature_[i].data(), out + offsets_[i]);
}

void ForestSet::Predict(const float* X, int64_t n, double* out) const {
  for (size_t i = 0; i < forests_.size(); ++i) {
    forests_[i]->PredictMapped(X, n, n_inputs_, key_feature_[i].data(), out + offsets_[i], NOutputs(), true);
  }
}

}  // namespace pyscore
