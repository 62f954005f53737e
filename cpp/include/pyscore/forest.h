// Compiled tree ensembles: the core's own compact layout of a Treelite model.
//
// The authored form (ForestSpec) is what the importer reads out of Treelite:
// per-node parallel arrays, tree-local child indices, the source library's
// comparison operator and threshold as float64. Forest validates it, then
// compiles it into the evaluated form:
//  - every test is normalised to `x <= t` with t a float32, exact for float32
//    inputs: `x <= d` (d a double) holds iff x <= the largest float <= d, and
//    `x < d` iff x <= the largest float < d; `>=` / `>` swap the children;
//  - NaN goes to the node's default child (Treelite semantics);
//  - every step compares integers: a row is first turned into
//    order-preserving integer keys, one per key slot, where a slot is a
//    (feature, NaN direction) pair that some node of the forest tests (NaN
//    gets the smallest or the largest key, so it goes to the node's default
//    child); features no node reads cost nothing, and a forest set maps the
//    slots of several forests onto one shared input row;
//  - trees of depth <= kMaxCompleteDepth are stored complete, all padded to
//    the forest's complete depth (2^depth - 1 nodes of 8 bytes, children of i
//    at 2i+1 / 2i+2, missing subtrees padded with copies of the leaf), so
//    that traversal is a fixed number of branch-free steps that interleave
//    over a block of rows (batch) or over four trees (one row). Where the CPU
//    has AVX-512 (checked at run time, forest_avx512.cpp), a batch walks 16
//    rows per vector (the upper levels' nodes come from registers by permute,
//    keys by gather) and one row walks 16 trees per vector; with AVX2 only
//    (forest_avx2.cpp) a batch walks 8 rows per vector. No -march flag: the
//    kernels are compiled for their target per function, and the portable
//    scalar path (any x86-64, aarch64) gives identical results;
//  - deeper trees keep a pointer layout of 16-byte nodes, also on keys.
// Margins accumulate in float64 (scikit-learn, LightGBM) or, when the source
// does so (XGBoost), in float32, in tree order starting from the base score,
// so that results match the source library bit for bit or nearly.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace pyscore {

enum class SplitOp : int8_t { kLE = 0, kLT = 1, kGE = 2, kGT = 3 };
enum class PostTransform : int8_t { kIdentity = 0, kSigmoid = 1, kSoftmax = 2 };

const char* PostTransformToString(PostTransform p);
PostTransform PostTransformFromString(const std::string& s);  // throws std::invalid_argument

// Views over caller-owned arrays; only read during Forest construction.
struct ForestSpec {
  int32_t n_features = 0;
  int32_t n_outputs = 1;        // 1 for binary / regression, classes for multi-class
  int64_t n_trees = 0;
  const int64_t* tree_offsets;  // n_trees + 1: nodes of tree t are [offsets[t], offsets[t+1])
  const int32_t* tree_output;   // n_trees: the output (class) each tree adds to
  int64_t n_nodes = 0;
  const int32_t* feature;        // n_nodes: -1 marks a leaf
  const double* threshold;       // n_nodes (ignored for leaves)
  const int8_t* op;              // n_nodes: SplitOp (ignored for leaves)
  const int32_t* left;           // n_nodes: tree-local child index, -1 for leaves
  const int32_t* right;          // n_nodes: tree-local child index, -1 for leaves
  const uint8_t* default_left;   // n_nodes: where NaN goes
  const double* leaf_value;      // n_nodes (ignored for internal nodes)
  const double* cover;           // n_nodes: training weight/count (for contributions); may be null
  const double* base_score;      // n_outputs
  PostTransform post_transform = PostTransform::kIdentity;
  double sigmoid_alpha = 1.0;
  bool float32_sum = false;      // accumulate margins in float32 (XGBoost)
};

class Forest {
 public:
  static constexpr int kMaxCompleteDepth = 8;
  static constexpr int kMaxDepth = 512;

  // Validates every array (child index > parent, feature < n_features, each
  // node reached exactly once, finite leaves ...) and compiles; throws
  // std::invalid_argument naming the first bad tree/node.
  explicit Forest(const ForestSpec& spec);

  int32_t NFeatures() const { return n_features_; }
  int32_t NOutputs() const { return n_outputs_; }
  int64_t NTrees() const { return static_cast<int64_t>(trees_.size()); }
  int32_t MaxDepth() const { return max_depth_; }
  int64_t NCompleteTrees() const;
  PostTransform GetPostTransform() const { return post_; }
  bool Float32Sum() const { return float32_sum_; }

  // X: row-major float32 (n, NFeatures()); out: (n, NOutputs()).
  void PredictMargin(const float* X, int64_t n, double* out) const;
  void Predict(const float* X, int64_t n, double* out) const;  // margin + post-transform
  void PredictRow(const float* x, double* out) const;          // one row, no blocking

  // The same on rows of any width: key slot u reads x[key_feature[u]] (a
  // slot map, NKeys() entries: KeyFeatures() itself, or a forest set's map
  // into a wider row); row r starts at X + r * x_stride, its outputs at
  // out + r * out_stride. post: apply the post-transform.
  void PredictMapped(const float* X, int64_t n, int64_t x_stride, const int32_t* key_feature, double* out,
                     int64_t out_stride, bool post) const;
  void PredictRowMapped(const float* x, const int32_t* key_feature, double* out) const;  // post-transformed
  int32_t NKeys() const { return static_cast<int32_t>(key_feature_.size()); }
  const std::vector<int32_t>& KeyFeatures() const { return key_feature_; }

  // Which kernels run: 0 portable scalar, 1 AVX2 (batches; one row stays
  // scalar), 2 AVX-512 (batches and one row). The default is the highest
  // level the CPU supports. Process-wide; lets tests compare the paths.
  static void SetSimdLevel(int level);
  static int SimdLevel();     // the level in effect
  static int MaxSimdLevel();  // the highest level this CPU runs

  // Saabas path attribution for output `output` (or each row's arg-max class
  // when output < 0): out (n, NFeatures() + 1), the last column is the bias
  // (base score + expected value of every tree); each row sums to the margin.
  void Contributions(const float* X, int64_t n, int32_t output, double* out) const;
  // Exact TreeSHAP values (Lundberg et al. 2018, Algorithm 2), same layout.
  void ShapContributions(const float* X, int64_t n, int32_t output, double* out) const;
  // The k largest contributions by magnitude: features (n, k), values (n, k),
  // bias (n). method: 0 Saabas, 1 TreeSHAP. k is clamped to NFeatures().
  void TopContributions(const float* X, int64_t n, int32_t output, int32_t k, int method,
                        int32_t* features, double* values, double* bias) const;

  // Pointer layout (also the authored structure, used for contributions).
  struct Node {
    float threshold;   // normalised: go left iff x <= threshold, or NaN and default_left
    int32_t feature;   // -1 for a leaf
    int32_t left;      // forest-global node index
    int32_t right;
  };
  // Complete layout, 8 bytes: go left iff keys[key_index] <= key_threshold,
  // where keys are the row's sortable integer keys (forest.cpp: RowKeys) and
  // key_index is the node's key slot.
  struct CNode {
    int32_t key_threshold;
    uint32_t key_index;
  };
  // Pointer layout on keys: go to left iff keys[key_index] <= key_threshold;
  // left < 0 marks a leaf whose value is leaf_value_[this node].
  struct KNode {
    int32_t key_threshold;
    uint32_t key_index;
    int32_t left;
    int32_t right;
  };
  // One element of a TreeSHAP path.
  struct PathElement {
    int32_t feature;
    double zero_fraction;
    double one_fraction;
    double pweight;
  };

 private:
  struct Tree {
    int32_t output;
    int32_t depth;
    int32_t root;          // index into nodes_
    int64_t cnode_begin;   // complete layout: first node in cnodes_, or -1
    int64_t leaf_begin;    // complete layout: first leaf in cleaves_
  };

  friend struct ForestAvx512;  // forest_avx512.cpp
  friend struct ForestAvx2;    // forest_avx2.cpp

  template <typename Acc>
  void PredictMarginImpl(const float* X, int64_t n, int64_t x_stride, const int32_t* key_feature, double* out,
                         int64_t out_stride) const;
  template <typename Acc>
  void PredictRowImpl(const float* x, const int32_t* key_feature, double* out) const;
  void AssignKeySlots();
  void RowKeys(const float* x, const int32_t* key_feature, int32_t* keys) const;
  // Pointer-layout walk on keys: keys of slot u at keys[u * key_stride].
  double DeepTreeValue(const Tree& t, const int32_t* keys, int64_t key_stride) const;
  double TreeValue(const Tree& t, const int32_t* keys) const;
  void PostProcess(double* row) const;
  int32_t PickOutput(const double* margin, int32_t output) const;
  void SaabasRow(const float* x, int32_t output, double* out) const;
  void ShapRow(const float* x, int32_t output, double* out, std::vector<PathElement>& scratch) const;
  void ShapRecurse(const float* x, double* phi, int32_t node, int unique_depth, PathElement* parent_path,
                   double parent_zero_fraction, double parent_one_fraction, int32_t parent_feature) const;
  bool GoesLeft(int32_t node, float x) const {
    return x <= nodes_[node].threshold || (x != x && default_left_[node]);
  }
  double LeafValue(int32_t node) const { return leaf_value_[node]; }

  int32_t n_features_;
  int32_t n_outputs_;
  int32_t max_depth_ = 0;
  PostTransform post_;
  double sigmoid_alpha_;
  bool float32_sum_;
  std::vector<double> base_score_;
  std::vector<Tree> trees_;
  std::vector<Node> nodes_;
  std::vector<uint8_t> default_left_;
  std::vector<double> leaf_value_;
  std::vector<double> expected_;   // per node: cover-weighted mean of its leaves
  std::vector<double> cover_;      // per node, > 0
  std::vector<CNode> cnodes_;
  std::vector<double> cleaves_;
  std::vector<float> cleaves_f_;   // the same leaves as float32, for float32_sum
  bool leaves_f32_exact_ = false;  // every complete leaf is a float32 value (cleaves_f_ widens back exactly)
  std::vector<int64_t> quads_;     // first tree of each run of 4 equal-depth complete trees
  int32_t complete_depth_ = 0;     // depth of every complete tree's layout (0: none)
  std::vector<int32_t> key_feature_;  // per key slot: the feature it reads
  std::vector<int32_t> key_nan_;      // per key slot: the key of NaN (smallest or largest)
  std::vector<KNode> knodes_;         // pointer layout on keys, parallel to nodes_
  // Structure of arrays of cnodes_ (SIMD kernels): thresholds and key slots.
  std::vector<int32_t> cthr_;
  std::vector<int32_t> ckey_;
  std::vector<int64_t> runs16_;  // first tree of each run of 16 consecutive complete trees
  std::vector<int32_t> cbegin32_;  // per tree: cnode_begin (-1: not complete), for gathers
  std::vector<int32_t> lbegin32_;  // per tree: leaf_begin
  // Rank layout of the complete trees, for the one-row AVX-512 kernel: a
  // node is one 16-bit word, (rank << 8) | key slot, where rank is the index
  // of its key threshold among the slot's distinct thresholds (ascending). A
  // row goes right iff more of the slot's thresholds lie below its key than
  // the rank: the same test as key > threshold, on a quarter of the bytes of
  // cthr_ and ckey_ (a depth-6 tree takes two cache lines) and with one
  // gather less per level. Each complete tree takes 2^D words from
  // RankNodes(), which starts on a 64-byte line. Empty (the kernel then is
  // not used) when the forest has more than 256 key slots or a slot more
  // than 256 distinct thresholds; histogram-based trainers (LightGBM,
  // XGBoost, scikit-learn's HGB) stay within that at their default bin counts.
  void BuildRankLayout();
  const uint16_t* RankNodes() const {
    const uint16_t* p = rnodes_.data();
    return p + ((64 - (reinterpret_cast<uintptr_t>(p) & 63)) & 63) / 2;
  }
  // Over-allocated by 32 words for the alignment and one more: the kernel
  // gathers 4 bytes at each word.
  std::vector<uint16_t> rnodes_;
  std::vector<int32_t> rbegin32_;      // per tree: its first word in RankNodes() (-1: not complete)
  std::vector<int32_t> slot_thr_;      // per slot: distinct key thresholds, padded to 16 with INT32_MAX
  std::vector<int32_t> slot_thr_begin_;  // NKeys() + 1 offsets into slot_thr_ (multiples of 16)
};

// The AVX-512 kernels (forest_avx512.cpp; compiled for that target only
// inside, so the library runs on any x86-64 and elsewhere reports
// Supported() == false).
struct ForestAvx512 {
  static bool Supported();
  static bool Usable(const Forest& f);  // the forest's layout fits the kernels
  static void PredictMargin(const Forest& f, const float* X, int64_t n, int64_t x_stride,
                            const int32_t* key_feature, double* out, int64_t out_stride);
  static void PredictRow(const Forest& f, const float* x, const int32_t* key_feature, double* out);  // margin
};

// The AVX2 batch kernel (forest_avx2.cpp), likewise compiled for AVX2 only inside.
struct ForestAvx2 {
  static bool Supported();
  static void PredictMargin(const Forest& f, const float* X, int64_t n, int64_t x_stride,
                            const int32_t* key_feature, double* out, int64_t out_stride);
};

// Several forests on one shared input row (the engine's detectors, one call
// per message): forest i reads its feature j from column columns[i][j] of
// the row (an empty columns[i] means columns 0..n_features-1) and fills
// out[OutputOffsets()[i] : OutputOffsets()[i + 1]] with post-transformed
// scores. The forests must outlive the set.
class ForestSet {
 public:
  ForestSet(std::vector<const Forest*> forests, const std::vector<std::vector<int32_t>>& columns, int32_t n_inputs);

  int32_t NInputs() const { return n_inputs_; }
  int32_t NOutputs() const { return offsets_.back(); }
  int64_t Size() const { return static_cast<int64_t>(forests_.size()); }
  const std::vector<int32_t>& OutputOffsets() const { return offsets_; }

  void PredictRow(const float* x, double* out) const;             // x: NInputs(); out: NOutputs()
  void Predict(const float* X, int64_t n, double* out) const;     // X (n, NInputs()); out (n, NOutputs())

 private:
  std::vector<const Forest*> forests_;
  std::vector<std::vector<int32_t>> key_feature_;  // per forest: key slot -> column of the shared row
  std::vector<int32_t> offsets_;
  int32_t n_inputs_;
};

}  // namespace pyscore
