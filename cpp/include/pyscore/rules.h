// Rules in the core: a multi-pattern literal matcher over string columns and
// an evaluator of compiled boolean programs over atom columns.
// The core sees columns (offsets + bytes), atoms (uint8 per row) and programs;
// it knows nothing about email or the rule language.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace pyscore {

// How a literal occurrence must sit in the string for a target to fire.
enum class MatchMode : uint8_t { kContains = 1, kPrefix = 2, kSuffix = 4, kExact = 8 };

// Aho-Corasick over bytes, compiled to a dense DFA on byte classes. One pass
// over a column finds every pattern in every row; each pattern feeds one or
// more targets (atom id, mode). Case-insensitive matchers fold ASCII only.
class LiteralMatcher {
 public:
  LiteralMatcher(const std::vector<std::string>& patterns, bool case_insensitive,
                 const std::vector<int32_t>& target_pattern, const std::vector<int32_t>& target_atom,
                 const std::vector<uint8_t>& target_mode);
  // For every row r and satisfied target t: buf[atom_base[atom(t)] + r] = 1.
  // atom_base holds n_atom_base entries; rows are offsets[r]..offsets[r+1] of data.
  void Match(const int64_t* offsets, int64_t n_rows, const uint8_t* data, int64_t n_data,
             const int64_t* atom_base, int64_t n_atom_base, uint8_t* buf, int64_t n_buf) const;
  int64_t NumStates() const { return static_cast<int64_t>(out_link_.size()); }
  int64_t NumPatterns() const { return static_cast<int64_t>(length_.size()); }

 private:
  void Report(int32_t pattern, int64_t end, int64_t len, int64_t row, std::vector<int64_t>* stamp,
              std::vector<uint8_t>* seen, const int64_t* atom_base, uint8_t* buf) const;
  struct Piece {
    int64_t row, lo, begin, end;  // scan data[begin, end) of the row that starts at lo
  };
  static constexpr int kChains = 4;               // state chains scanned in lockstep
  static constexpr int64_t kSegmentBytes = 256;   // at least this many bytes per chain
  int32_t n_classes_ = 1;
  uint8_t class_of_[256] = {};
  // n_states rows of stride_ entries (states in BFS order): entry = next state * stride_,
  // bit 0 set when the next state has output (stride_ is even).
  std::vector<uint32_t> next_;
  int32_t stride_ = 2;
  std::vector<int32_t> out_link_;     // nearest proper suffix state with output, -1 if none
  std::vector<int32_t> own_begin_;    // patterns ending exactly at a state: own_[own_begin_[s]..[s+1])
  std::vector<int32_t> own_;
  std::vector<int64_t> length_;       // per pattern
  std::vector<int32_t> target_begin_; // per pattern: targets_[target_begin_[p]..[p+1])
  std::vector<int32_t> target_atom_;
  std::vector<uint8_t> target_mode_;
  int32_t max_atom_ = -1;
  std::vector<int32_t> atoms_;  // the distinct target atoms
};

enum class Op : int8_t {
  kFalse, kTrue, kAtom, kAnd, kOr, kNot, kAny, kAll, kCmp, kTruthy,
  kNumCol, kNumConst, kCount, kCountDistinct, kCoalesce,
};
const char* OpToString(Op op);

// Comparison codes of kCmp.
enum class CmpOp : int8_t { kEq, kNe, kLt, kLe, kGt, kGe };

// A flat program: nodes in post order (each child before its parent), as
// parallel arrays. Meaning of a, b per op:
//   kAtom a=atom b=level | kAny/kAll/kCount a=level (kAll: b=number of filter kids)
//   kCountDistinct a=level b=code column | kCmp a=CmpOp | kNumCol a=column b=level
// Levels: 0 is the message; level l > 0 is a list whose rows belong to rows of
// level parent[l]. Booleans are two-valued: a comparison with NaN is false.
struct ProgramSpec {
  std::vector<int8_t> op;
  std::vector<int32_t> a, b, first_kid, n_kids;
  std::vector<double> value;
  std::vector<int32_t> kids;
  std::vector<int32_t> roots;         // one per rule
  std::vector<int32_t> level_parent;  // level_parent[0] = -1
  int32_t n_atoms = 0, n_num_columns = 0, n_code_columns = 0;
};

// Per-batch data: every buffer is one flat array; entity i starts at base[i].
struct BatchView {
  int64_t n_messages = 0;
  const int64_t* offsets = nullptr;  // level l (l > 0): offsets[off_base[l] .. + rows(parent) + 1]
  const int64_t* off_base = nullptr;
  const int64_t* level_rows = nullptr;
  const uint8_t* atoms = nullptr;
  const int64_t* atom_base = nullptr;
  const double* nums = nullptr;
  const int64_t* num_base = nullptr;
  const int64_t* codes = nullptr;  // -1 = null
  const int64_t* code_base = nullptr;
  int64_t n_codes = 0;             // codes are in [0, n_codes)
};

class RuleProgram {
 public:
  explicit RuleProgram(ProgramSpec spec);  // validates; throws std::invalid_argument
  // out: n_messages x n_rules, row major, filled with 0/1.
  void Evaluate(const BatchView& batch, uint8_t* out) const;
  int32_t NumRules() const { return static_cast<int32_t>(spec_.roots.size()); }
  int32_t NumLevels() const { return static_cast<int32_t>(spec_.level_parent.size()); }
  std::string Dump() const;
  // Checks every offset and base a batch gives against its buffer sizes, so
  // Evaluate can read without bounds checks. Throws std::invalid_argument.
  void CheckBatch(const BatchView& batch, int64_t n_offsets, int64_t n_atoms_buf, int64_t n_atom_base,
                  int64_t n_nums, int64_t n_num_base, int64_t n_codes_buf, int64_t n_code_base) const;

 private:
  std::vector<int32_t> atom_level_, num_level_, code_level_;  // -1: unused
  struct State;
  void OrderByCost();
  void FindGates();
  bool Bool(int32_t node, State* st) const;
  double Num(int32_t node, State* st) const;
  bool AllKids(int32_t node, int32_t from, int32_t to, State* st) const;
  ProgramSpec spec_;
  // Per rule r: clauses gate_begin_[r] .. gate_begin_[r+1]; clause c holds the message-level atoms
  // gate_atom_[clause_end_[c-1] .. clause_end_[c]), one of which must be true for the rule to be.
  std::vector<int32_t> gate_atom_, gate_begin_, clause_end_;
};

// Row-wise match of column b's value inside column a's value (same number of rows):
// out[r] = 1 when b[r] is non-empty and occurs in a[r] as `mode` says (contains,
// prefix, suffix or exact), ASCII-folded when case_insensitive.
void PairMatch(const int64_t* a_offsets, const uint8_t* a_data, const int64_t* b_offsets, const uint8_t* b_data,
               int64_t n_rows, MatchMode mode, bool case_insensitive, uint8_t* out);

// Edit distance between two UTF-8 strings, counted in code points, ASCII letters folded.
int64_t FoldedLevenshtein(const std::string& a, const std::string& b);

// Edit distances of every row of a string column (a_offsets/a_data, n_a rows) to every
// string of b (b_offsets/b_data, n_b rows), as FoldedLevenshtein counts them: out is
// n_a x n_b, row major. Bit-parallel (Myers / Hyyro) when the shorter side has at most
// 64 code points, the dynamic program otherwise.
void FoldedLevenshteinMatrix(const int64_t* a_offsets, int64_t n_a, const uint8_t* a_data, const int64_t* b_offsets,
                             int64_t n_b, const uint8_t* b_data, double* out);

// Whether data[0..n) is well-formed UTF-8 (no overlong forms, surrogates or code points
// above U+10FFFF): what a UTF-8 regex engine may assume of its input.
bool Utf8Valid(const uint8_t* data, int64_t n);

// Number of UTF-8 code points of each row (bytes that are not continuation bytes).
void CodePointCounts(const int64_t* offsets, int64_t n_rows, const uint8_t* data, int64_t* out);

// 64-bit FNV-1a hash of each row (ASCII-folded when case_insensitive).
void HashStrings(const int64_t* offsets, int64_t n_rows, const uint8_t* data, bool case_insensitive,
                 uint64_t* out);

}  // namespace pyscore

namespace pyscore {

// A batch whose columns all live in a few flat arrays (the PackedBatch of the Python side):
// string column k is strings string_start[k] .. string_start[k+1] of (offsets, text); number
// column k is numbers[number_start[k] .. number_start[k+1]); group g's per-message element
// offsets are group_offsets[g * (n_messages + 1) ..].
struct PackedView {
  int64_t n_messages = 0;
  const uint8_t* text = nullptr;
  int64_t n_text = 0;
  const int64_t* offsets = nullptr;
  int64_t n_offsets = 0;
  const int64_t* string_start = nullptr;
  int64_t n_string_columns = 0;
  const double* numbers = nullptr;
  const int64_t* number_start = nullptr;
  int64_t n_number_columns = 0;
  const int64_t* group_offsets = nullptr;
  int64_t n_groups = 0;
};

// Atoms and numeric columns computed straight from a packed batch, all in one call: string
// (in)equality, non-null and pair matches between string columns, copies of number and signal
// columns, code-point lengths and edit distances to constants. Levels are the program's: level
// 0 is the message, a level l > 0 handled here is packed group level_group[l]. A column is read
// at its own level or, for message columns, lifted to a group level (each element sees its
// message's value).
class ColumnOps {
 public:
  enum AtomKind : int32_t { kNonNull = 0, kStrEq = 1, kStrNe = 2, kPair = 3 };
  enum NumKind : int32_t { kNumber = 0, kSignal = 1, kCodePoints = 2, kLevConst = 3 };
  struct AtomOp {
    int32_t kind, atom, level, col_a, level_a, col_b, level_b, mode;  // mode: MatchMode of kPair (+16: ASCII-folded)
  };
  struct NumOp {
    int32_t kind, column, level, source, source_level, constant;  // source: packed column or signal index
  };
  ColumnOps(std::vector<int32_t> level_group, std::vector<AtomOp> atoms, std::vector<NumOp> nums,
            std::vector<std::string> constants);
  // Writes every op's rows: buf[atom_base[atom] + r] (pair ops OR into it), nums[num_base[column] + r].
  // signals: n_messages x n_signals, row major. level_rows: rows per program level.
  void Run(const PackedView& batch, const double* signals, int64_t n_signals, const int64_t* level_rows,
           int64_t n_levels, const int64_t* atom_base, int64_t n_atom_base, uint8_t* buf, int64_t n_buf,
           const int64_t* num_base, int64_t n_num_base, double* nums, int64_t n_nums) const;

 private:
  void Check(const PackedView& batch, int64_t n_signals, const int64_t* level_rows, int64_t n_levels,
             const int64_t* atom_base, int64_t n_atom_base, int64_t n_buf, const int64_t* num_base,
             int64_t n_num_base, int64_t n_nums) const;
  std::vector<int32_t> level_group_;
  std::vector<AtomOp> atoms_;
  std::vector<NumOp> nums_;
  std::vector<std::string> constants_;
  struct LevGroup {  // the edit-distance ops reading one source column
    int32_t source, source_level;
    std::vector<int64_t> const_offsets;  // the constants, one per op, as one string column
    std::string const_data;
    std::vector<int32_t> ops, slot;      // op index into nums_, its constant's row
  };
  std::vector<LevGroup> lev_groups_;
};

}  // namespace pyscore
