// Literal matcher (Aho-Corasick DFA) and boolean program evaluator for rules.
#include "pyscore/rules.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "pyscore/error.h"

namespace pyscore {

namespace {
inline uint8_t Fold(uint8_t c) { return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c; }

// The hot loop of LiteralMatcher::Match: N state chains step in lockstep over at most k bytes
// each (chain j reads pos[j][0..k)), stopping after the first step that reaches a state with
// output in any chain. Returns the steps taken; states are read from and written to st.
template <int N>
inline int64_t RunLanes(const uint32_t* next, const uint8_t* cls, const uint8_t* const* pos, int64_t k,
                        uint32_t* st) {
  uint32_t x[N];
  const uint8_t* p[N];
#pragma GCC unroll 4
  for (int j = 0; j < N; ++j) {
    x[j] = st[j];
    p[j] = pos[j];
  }
  int64_t i = 0;
  while (i < k) {
    uint32_t any = 0;
#pragma GCC unroll 4
    for (int j = 0; j < N; ++j) {
      x[j] = next[(x[j] & ~1u) + cls[p[j][i]]];
      any |= x[j];
    }
    ++i;
    if (any & 1u) break;
  }
#pragma GCC unroll 4
  for (int j = 0; j < N; ++j) st[j] = x[j];
  return i;
}
}  // namespace

LiteralMatcher::LiteralMatcher(const std::vector<std::string>& patterns, bool case_insensitive,
                               const std::vector<int32_t>& target_pattern,
                               const std::vector<int32_t>& target_atom,
                               const std::vector<uint8_t>& target_mode) {
  PYSCORE_ARG_CHECK(target_pattern.size() == target_atom.size() && target_atom.size() == target_mode.size(),
                    "LiteralMatcher: target arrays differ in length");
  const size_t n_pat = patterns.size();
  // Byte classes: every byte used by a pattern gets its own class; the rest share class 0.
  uint8_t fold[256];
  for (int c = 0; c < 256; ++c) fold[c] = case_insensitive ? Fold(static_cast<uint8_t>(c)) : static_cast<uint8_t>(c);
  int32_t cls_of_folded[256] = {};
  n_classes_ = 1;
  for (const auto& p : patterns) {
    PYSCORE_ARG_CHECK(!p.empty(), "LiteralMatcher: empty pattern");
    for (unsigned char ch : p) {
      uint8_t f = fold[ch];
      if (cls_of_folded[f] == 0) cls_of_folded[f] = n_classes_++;
    }
  }
  for (int c = 0; c < 256; ++c) class_of_[c] = static_cast<uint8_t>(cls_of_folded[fold[c]]);
  PYSCORE_ARG_CHECK(n_classes_ <= 256, "LiteralMatcher: too many byte classes");
  // Trie.
  const int32_t K = n_classes_;
  std::vector<int32_t> go(K, -1);
  std::vector<std::vector<int32_t>> own(1);
  length_.resize(n_pat);
  for (size_t pi = 0; pi < n_pat; ++pi) {
    int32_t s = 0;
    for (unsigned char ch : patterns[pi]) {
      int32_t c = class_of_[ch];
      int32_t& nxt = go[static_cast<size_t>(s) * K + c];
      if (nxt < 0) {
        nxt = static_cast<int32_t>(own.size());
        own.emplace_back();
        go.resize(go.size() + K, -1);
      }
      s = go[static_cast<size_t>(s) * K + c];
    }
    own[s].push_back(static_cast<int32_t>(pi));
    length_[pi] = static_cast<int64_t>(patterns[pi].size());
  }
  const int32_t n_states = static_cast<int32_t>(own.size());
  // BFS: failure links turn the trie into a full DFA. States are renumbered in BFS order, so
  // the shallow states a scan spends nearly all its time in share a few cache lines.
  std::vector<int32_t> fail(n_states, 0), bfs;
  std::vector<int32_t> delta(static_cast<size_t>(n_states) * K, 0);
  std::vector<int32_t> out_link(n_states, -1);
  bfs.reserve(n_states);
  bfs.push_back(0);
  for (int32_t c = 0; c < K; ++c) {
    int32_t t = go[c];
    if (t >= 0) {
      delta[c] = t;
      bfs.push_back(t);
    }
  }
  for (size_t head = 1; head < bfs.size(); ++head) {
    const int32_t s = bfs[head];
    const int32_t f = fail[s];
    out_link[s] = !own[f].empty() ? f : out_link[f];
    for (int32_t c = 0; c < K; ++c) {
      int32_t t = go[static_cast<size_t>(s) * K + c];
      if (t >= 0) {
        fail[t] = delta[static_cast<size_t>(f) * K + c];
        delta[static_cast<size_t>(s) * K + c] = t;
        bfs.push_back(t);
      } else {
        delta[static_cast<size_t>(s) * K + c] = delta[static_cast<size_t>(f) * K + c];
      }
    }
  }
  std::vector<int32_t> id(n_states);
  for (int32_t i = 0; i < n_states; ++i) id[bfs[i]] = i;
  // Rows of an even stride: an entry is the next state's row start with bit 0 set when that
  // state has output, so a step is one load and one mask (no multiply, no second table).
  stride_ = (K + 1) & ~1;
  PYSCORE_ARG_CHECK(static_cast<int64_t>(n_states) * stride_ < (int64_t{1} << 31), "LiteralMatcher: too many states");
  auto has_out = [&](int32_t old) { return !own[old].empty() || out_link[old] >= 0; };
  next_.assign(static_cast<size_t>(n_states) * stride_, 0);
  for (int32_t i = 0; i < n_states; ++i) {
    const int32_t old = bfs[i];
    for (int32_t c = 0; c < K; ++c) {
      const int32_t t = delta[static_cast<size_t>(old) * K + c];
      next_[static_cast<size_t>(i) * stride_ + c] = static_cast<uint32_t>(id[t] * stride_) | (has_out(t) ? 1u : 0u);
    }
  }
  out_link_.assign(n_states, -1);
  own_begin_.assign(n_states + 1, 0);
  for (int32_t i = 0; i < n_states; ++i) {
    const int32_t old = bfs[i];
    out_link_[i] = out_link[old] >= 0 ? id[out_link[old]] : -1;
    own_begin_[i + 1] = own_begin_[i] + static_cast<int32_t>(own[old].size());
    own_.insert(own_.end(), own[old].begin(), own[old].end());
  }
  // Targets grouped by pattern.
  std::vector<std::vector<std::pair<int32_t, uint8_t>>> per(n_pat);
  for (size_t t = 0; t < target_pattern.size(); ++t) {
    PYSCORE_ARG_CHECK(target_pattern[t] >= 0 && static_cast<size_t>(target_pattern[t]) < n_pat,
                      "LiteralMatcher: target pattern out of range");
    PYSCORE_ARG_CHECK(target_atom[t] >= 0, "LiteralMatcher: negative target atom");
    PYSCORE_ARG_CHECK(target_mode[t] != 0 && target_mode[t] < 16, "LiteralMatcher: bad target mode");
    per[target_pattern[t]].emplace_back(target_atom[t], target_mode[t]);
    max_atom_ = std::max(max_atom_, target_atom[t]);
    atoms_.push_back(target_atom[t]);
  }
  std::sort(atoms_.begin(), atoms_.end());
  atoms_.erase(std::unique(atoms_.begin(), atoms_.end()), atoms_.end());
  target_begin_.assign(n_pat + 1, 0);
  for (size_t p = 0; p < n_pat; ++p) {
    target_begin_[p + 1] = target_begin_[p] + static_cast<int32_t>(per[p].size());
    for (auto& [atom, mode] : per[p]) {
      target_atom_.push_back(atom);
      target_mode_.push_back(mode);
    }
  }
}

void LiteralMatcher::Report(int32_t pattern, int64_t end, int64_t len, int64_t row, std::vector<int64_t>* stamp,
                            std::vector<uint8_t>* seen, const int64_t* atom_base, uint8_t* buf) const {
  const int64_t start = end - length_[pattern];
  uint8_t flags = static_cast<uint8_t>(MatchMode::kContains);
  if (start == 0) flags |= static_cast<uint8_t>(MatchMode::kPrefix);
  if (end == len) flags |= static_cast<uint8_t>(MatchMode::kSuffix);
  if (start == 0 && end == len) flags |= static_cast<uint8_t>(MatchMode::kExact);
  uint8_t& s = (*seen)[pattern];
  if ((*stamp)[pattern] == row) {
    if ((s | flags) == s) return;  // nothing new for this pattern in this row
    s |= flags;
  } else {
    (*stamp)[pattern] = row;
    s = flags;
  }
  for (int32_t t = target_begin_[pattern]; t < target_begin_[pattern + 1]; ++t) {
    if (flags & target_mode_[t]) buf[atom_base[target_atom_[t]] + row] = 1;
  }
}

void LiteralMatcher::Match(const int64_t* offsets, int64_t n_rows, const uint8_t* data, int64_t n_data,
                           const int64_t* atom_base, int64_t n_atom_base, uint8_t* buf, int64_t n_buf) const {
  PYSCORE_ARG_CHECK(max_atom_ < n_atom_base, "LiteralMatcher.Match: atom_base is shorter than the atoms it targets");
  PYSCORE_ARG_CHECK(n_rows >= 0 && offsets[0] >= 0 && offsets[n_rows] <= n_data,
                    "LiteralMatcher.Match: offsets exceed the data");
  for (int32_t a : atoms_) {
    PYSCORE_ARG_CHECK(atom_base[a] >= 0 && atom_base[a] + n_rows <= n_buf,
                      "LiteralMatcher.Match: an atom's rows exceed the buffer");
  }
  for (int64_t r = 0; r < n_rows; ++r) PYSCORE_ARG_CHECK(offsets[r] <= offsets[r + 1], "LiteralMatcher.Match: offsets decrease");
  // Up to kChains independent state chains in lockstep: the table loads of one no longer
  // wait for another's. The column's bytes (rows are contiguous) are cut into byte-balanced
  // segments, one per chain; a row cut by a segment boundary is scanned by both segments, the
  // later one starting the longest pattern less one byte early, so every occurrence lies
  // wholly in one piece. Each chain keeps its own per-pattern dedup stamps; a pattern found
  // in both pieces of a row is reported twice, which sets the same bytes.
  int64_t longest = 1;
  for (int64_t n : length_) longest = std::max(longest, n);
  const int64_t first = offsets[0], total = offsets[n_rows] - offsets[0];
  const int n_chains = static_cast<int>(std::clamp<int64_t>(total / kSegmentBytes, 1, kChains));
  std::vector<Piece> pieces;
  pieces.reserve(static_cast<size_t>(n_rows) + n_chains);
  int64_t seg_first[kChains + 1] = {};
  int64_t row = 0;
  for (int j = 0; j < n_chains; ++j) {
    const int64_t lo = first + total * j / n_chains, hi = first + total * (j + 1) / n_chains;
    seg_first[j] = static_cast<int64_t>(pieces.size());
    while (row < n_rows && offsets[row + 1] <= lo) ++row;  // rows wholly before the segment
    for (int64_t r = row; r < n_rows && offsets[r] < hi; ++r) {
      const int64_t begin = std::max(offsets[r], lo > offsets[r] ? lo - (longest - 1) : offsets[r]);
      const int64_t end = std::min(offsets[r + 1], hi);
      if (end > begin) pieces.push_back({r, offsets[r], begin, end});
    }
  }
  seg_first[n_chains] = static_cast<int64_t>(pieces.size());
  std::vector<int64_t> stamp[kChains];
  std::vector<uint8_t> seen[kChains];
  // Per active chain: next byte, bytes left in its piece, state, piece, one past its segment's
  // last piece, and its stamps. A stop (an output in some chain, or a piece's end) touches only these.
  const uint8_t* pos[kChains];
  int64_t left[kChains], piece[kChains], last[kChains];
  uint32_t st[kChains];
  int id[kChains];
  int n_active = 0;
  for (int j = 0; j < n_chains; ++j) {
    if (seg_first[j] == seg_first[j + 1]) continue;
    stamp[j].assign(length_.size(), -1);
    seen[j].assign(length_.size(), 0);
    const Piece& p = pieces[seg_first[j]];
    pos[n_active] = data + p.begin;
    left[n_active] = p.end - p.begin;
    piece[n_active] = seg_first[j];
    last[n_active] = seg_first[j + 1];
    st[n_active] = 0;
    id[n_active] = j;
    ++n_active;
  }
  const uint32_t* next = next_.data();
  const uint8_t* cls = class_of_;
  const uint32_t stride = static_cast<uint32_t>(stride_);
  auto emit = [&](int j) {  // patterns ending at byte pos[j] - 1
    const Piece& p = pieces[piece[j]];
    const int64_t end = (pos[j] - data) - p.lo, len = offsets[p.row + 1] - p.lo;
    for (int32_t t = static_cast<int32_t>((st[j] & ~1u) / stride); t > 0; t = out_link_[t]) {
      for (int32_t o = own_begin_[t]; o < own_begin_[t + 1]; ++o) {
        Report(own_[o], end, len, p.row, &stamp[id[j]], &seen[id[j]], atom_base, buf);
      }
      if (out_link_[t] < 0) break;
    }
  };
  int64_t k = std::numeric_limits<int64_t>::max();
  for (int j = 0; j < n_active; ++j) k = std::min(k, left[j]);
  while (n_active > 0) {
    int64_t steps = 0;
    switch (n_active) {
      case 4: steps = RunLanes<4>(next, cls, pos, k, st); break;
      case 3: steps = RunLanes<3>(next, cls, pos, k, st); break;
      case 2: steps = RunLanes<2>(next, cls, pos, k, st); break;
      default: steps = RunLanes<1>(next, cls, pos, k, st); break;
    }
    bool piece_done = false;
    for (int j = 0; j < n_active; ++j) {
      pos[j] += steps;
      left[j] -= steps;
      if (st[j] & 1u) emit(j);
      piece_done |= left[j] == 0;
    }
    if (!piece_done) {
      k -= steps;
      continue;
    }
    // A piece is done: its chain starts the segment's next piece from the root, or retires.
    int kept = 0;
    k = std::numeric_limits<int64_t>::max();
    for (int j = 0; j < n_active; ++j) {
      if (left[j] == 0) {
        if (++piece[j] == last[j]) continue;
        const Piece& p = pieces[piece[j]];
        pos[j] = data + p.begin;
        left[j] = p.end - p.begin;
        st[j] = 0;
      }
      pos[kept] = pos[j];
      left[kept] = left[j];
      piece[kept] = piece[j];
      last[kept] = last[j];
      st[kept] = st[j];
      id[kept] = id[j];
      k = std::min(k, left[kept]);
      ++kept;
    }
    n_active = kept;
  }
}

const char* OpToString(Op op) {
  static const char* names[] = {"false", "true", "atom", "and", "or", "not", "any", "all", "cmp", "truthy",
                                "num_col", "num_const", "count", "count_distinct", "coalesce"};
  return names[static_cast<int>(op)];
}

RuleProgram::RuleProgram(ProgramSpec spec) : spec_(std::move(spec)) {
  const size_t n = spec_.op.size();
  const auto& s = spec_;
  PYSCORE_ARG_CHECK(s.a.size() == n && s.b.size() == n && s.first_kid.size() == n && s.n_kids.size() == n &&
                        s.value.size() == n,
                    "RuleProgram: node arrays differ in length");
  PYSCORE_ARG_CHECK(!s.level_parent.empty() && s.level_parent[0] == -1, "RuleProgram: level 0 must be the message");
  const int32_t n_levels = static_cast<int32_t>(s.level_parent.size());
  for (int32_t l = 1; l < n_levels; ++l) {
    PYSCORE_ARG_CHECK(s.level_parent[l] >= 0 && s.level_parent[l] < l, "RuleProgram: a level's parent must come first");
  }
  for (size_t i = 0; i < n; ++i) {
    PYSCORE_ARG_CHECK(s.op[i] >= 0 && s.op[i] <= static_cast<int8_t>(Op::kCoalesce), "RuleProgram: unknown op");
    PYSCORE_ARG_CHECK(s.n_kids[i] >= 0 && s.first_kid[i] >= 0 &&
                          static_cast<size_t>(s.first_kid[i]) + s.n_kids[i] <= s.kids.size(),
                      "RuleProgram: kid range out of bounds");
    for (int32_t k = 0; k < s.n_kids[i]; ++k) {
      int32_t kid = s.kids[s.first_kid[i] + k];
      PYSCORE_ARG_CHECK(kid >= 0 && static_cast<size_t>(kid) < i, "RuleProgram: a child must precede its parent");
    }
    const Op op = static_cast<Op>(s.op[i]);
    switch (op) {
      case Op::kAtom:
        PYSCORE_ARG_CHECK(s.a[i] >= 0 && s.a[i] < s.n_atoms && s.b[i] >= 0 && s.b[i] < n_levels,
                          "RuleProgram: atom or level out of range");
        break;
      case Op::kNumCol:
        PYSCORE_ARG_CHECK(s.a[i] >= 0 && s.a[i] < s.n_num_columns && s.b[i] >= 0 && s.b[i] < n_levels,
                          "RuleProgram: column or level out of range");
        break;
      case Op::kAny: case Op::kAll: case Op::kCount: case Op::kCountDistinct:
        PYSCORE_ARG_CHECK(s.a[i] > 0 && s.a[i] < n_levels, "RuleProgram: quantifier level out of range");
        if (op == Op::kAll) PYSCORE_ARG_CHECK(s.b[i] == s.n_kids[i] - 1, "RuleProgram: all() needs one predicate");
        if (op == Op::kCountDistinct)
          PYSCORE_ARG_CHECK(s.b[i] >= 0 && s.b[i] < s.n_code_columns, "RuleProgram: code column out of range");
        break;
      case Op::kCmp:
        PYSCORE_ARG_CHECK(s.n_kids[i] == 2 && s.a[i] >= 0 && s.a[i] <= 5, "RuleProgram: bad comparison");
        break;
      case Op::kNot: case Op::kTruthy:
        PYSCORE_ARG_CHECK(s.n_kids[i] == 1, "RuleProgram: unary op needs one child");
        break;
      default:
        break;
    }
  }
  for (int32_t r : s.roots) PYSCORE_ARG_CHECK(r >= 0 && static_cast<size_t>(r) < n, "RuleProgram: root out of range");
  OrderByCost();
  FindGates();
  atom_level_.assign(s.n_atoms, -1);
  num_level_.assign(s.n_num_columns, -1);
  code_level_.assign(s.n_code_columns, -1);
  auto claim = [](std::vector<int32_t>* levels, int32_t id, int32_t level) {
    PYSCORE_ARG_CHECK((*levels)[id] < 0 || (*levels)[id] == level, "RuleProgram: a column is read at two levels");
    (*levels)[id] = level;
  };
  for (size_t i = 0; i < n; ++i) {
    const Op op = static_cast<Op>(s.op[i]);
    if (op == Op::kAtom) claim(&atom_level_, s.a[i], s.b[i]);
    if (op == Op::kNumCol) claim(&num_level_, s.a[i], s.b[i]);
    if (op == Op::kCountDistinct) claim(&code_level_, s.b[i], s.a[i]);
  }
}

void RuleProgram::CheckBatch(const BatchView& v, int64_t n_offsets, int64_t n_atoms_buf, int64_t n_atom_base,
                             int64_t n_nums, int64_t n_num_base, int64_t n_codes_buf, int64_t n_code_base) const {
  const auto& s = spec_;
  PYSCORE_ARG_CHECK(v.level_rows[0] == v.n_messages, "level_rows[0] must be the number of messages");
  for (size_t l = 1; l < s.level_parent.size(); ++l) {
    const int64_t parent_rows = v.level_rows[s.level_parent[l]];
    const int64_t base = v.off_base[l];
    PYSCORE_ARG_CHECK(base >= 0 && base + parent_rows + 1 <= n_offsets, "level offsets exceed the offsets buffer");
    const int64_t* off = v.offsets + base;
    PYSCORE_ARG_CHECK(off[0] == 0 && off[parent_rows] == v.level_rows[l], "level offsets do not span the level's rows");
    for (int64_t r = 0; r < parent_rows; ++r) PYSCORE_ARG_CHECK(off[r] <= off[r + 1], "level offsets decrease");
  }
  auto check_cols = [&](const std::vector<int32_t>& levels, const int64_t* base, int64_t n_base, int64_t n_buf,
                        const char* what) {
    PYSCORE_ARG_CHECK(static_cast<int64_t>(levels.size()) <= n_base, std::string(what) + " base array is too short");
    for (size_t c = 0; c < levels.size(); ++c) {
      if (levels[c] < 0) continue;
      PYSCORE_ARG_CHECK(base[c] >= 0 && base[c] + v.level_rows[levels[c]] <= n_buf,
                        std::string(what) + " column exceeds its buffer");
    }
  };
  check_cols(atom_level_, v.atom_base, n_atom_base, n_atoms_buf, "atom");
  check_cols(num_level_, v.num_base, n_num_base, n_nums, "numeric");
  check_cols(code_level_, v.code_base, n_code_base, n_codes_buf, "code");
  for (size_t c = 0; c < code_level_.size(); ++c) {
    if (code_level_[c] < 0) continue;
    const int64_t* codes = v.codes + v.code_base[c];
    for (int64_t r = 0; r < v.level_rows[code_level_[c]]; ++r) {
      PYSCORE_ARG_CHECK(codes[r] < v.n_codes, "a distinct code is out of range");
    }
  }
}

void RuleProgram::OrderByCost() {
  // Booleans are two-valued, so and/or may read their children in any order: cheap children
  // first (an atom before a loop over a list) lets short-circuiting skip the loops.
  auto& s = spec_;
  const size_t n = s.op.size();
  std::vector<double> cost(n, 1.0);
  for (size_t i = 0; i < n; ++i) {  // children precede parents
    double sum = 0;
    for (int32_t k = 0; k < s.n_kids[i]; ++k) sum += cost[s.kids[s.first_kid[i] + k]];
    switch (static_cast<Op>(s.op[i])) {
      case Op::kAny: case Op::kAll: case Op::kCount: case Op::kCountDistinct:
        cost[i] = 8.0 * (1.0 + sum);  // once per element of a list
        break;
      default:
        cost[i] = 1.0 + sum;
    }
    const Op op = static_cast<Op>(s.op[i]);
    if (op == Op::kAnd || op == Op::kOr) {
      int32_t* first = s.kids.data() + s.first_kid[i];
      std::stable_sort(first, first + s.n_kids[i], [&cost](int32_t x, int32_t y) { return cost[x] < cost[y]; });
    }
  }
}

struct RuleProgram::State {
  const BatchView* batch;
  std::vector<int64_t> cur;    // current row per level
  std::vector<int64_t> stamp;  // count_distinct: last evaluation that saw a code
  int64_t epoch = 0;
};

bool RuleProgram::AllKids(int32_t node, int32_t from, int32_t to, State* st) const {
  const int32_t* kids = spec_.kids.data() + spec_.first_kid[node];
  for (int32_t k = from; k < to; ++k) {
    if (!Bool(kids[k], st)) return false;  // AND narrows: later children never see this row
  }
  return true;
}

bool RuleProgram::Bool(int32_t node, State* st) const {
  const auto& s = spec_;
  const BatchView& b = *st->batch;
  switch (static_cast<Op>(s.op[node])) {
    case Op::kFalse: return false;
    case Op::kTrue: return true;
    case Op::kAtom: return b.atoms[b.atom_base[s.a[node]] + st->cur[s.b[node]]] != 0;
    case Op::kAnd: return AllKids(node, 0, s.n_kids[node], st);
    case Op::kOr: {
      const int32_t* kids = s.kids.data() + s.first_kid[node];
      for (int32_t k = 0; k < s.n_kids[node]; ++k) {
        if (Bool(kids[k], st)) return true;  // OR skips the rest once true
      }
      return false;
    }
    case Op::kNot: return !Bool(s.kids[s.first_kid[node]], st);
    case Op::kAny: case Op::kAll: {
      const int32_t level = s.a[node];
      const int64_t parent_row = st->cur[s.level_parent[level]];
      const int64_t* off = b.offsets + b.off_base[level];
      const int64_t saved = st->cur[level];
      const bool any = static_cast<Op>(s.op[node]) == Op::kAny;
      const int32_t n_filters = any ? s.n_kids[node] : s.b[node];
      bool result = !any, seen = false;
      for (int64_t e = off[parent_row]; e < off[parent_row + 1]; ++e) {
        st->cur[level] = e;
        if (any) {
          if (AllKids(node, 0, n_filters, st)) { result = true; break; }
        } else if (AllKids(node, 0, n_filters, st)) {
          seen = true;
          if (!Bool(s.kids[s.first_kid[node] + n_filters], st)) { result = false; break; }
        }
      }
      st->cur[level] = saved;
      return any ? result : (result && seen);
    }
    case Op::kCmp: {
      const double x = Num(s.kids[s.first_kid[node]], st), y = Num(s.kids[s.first_kid[node] + 1], st);
      if (std::isnan(x) || std::isnan(y)) return false;
      switch (static_cast<CmpOp>(s.a[node])) {
        case CmpOp::kEq: return x == y;
        case CmpOp::kNe: return x != y;
        case CmpOp::kLt: return x < y;
        case CmpOp::kLe: return x <= y;
        case CmpOp::kGt: return x > y;
        case CmpOp::kGe: return x >= y;
      }
      return false;
    }
    case Op::kTruthy: {
      const double x = Num(s.kids[s.first_kid[node]], st);
      return !std::isnan(x) && x != 0.0;
    }
    default:
      throw Error(std::string("RuleProgram: op ") + OpToString(static_cast<Op>(s.op[node])) + " is not boolean");
  }
}

double RuleProgram::Num(int32_t node, State* st) const {
  const auto& s = spec_;
  const BatchView& b = *st->batch;
  switch (static_cast<Op>(s.op[node])) {
    case Op::kNumConst: return s.value[node];
    case Op::kNumCol: return b.nums[b.num_base[s.a[node]] + st->cur[s.b[node]]];
    case Op::kCoalesce: {
      for (int32_t k = 0; k < s.n_kids[node]; ++k) {
        const double x = Num(s.kids[s.first_kid[node] + k], st);
        if (!std::isnan(x)) return x;
      }
      return std::numeric_limits<double>::quiet_NaN();
    }
    case Op::kCount: case Op::kCountDistinct: {
      const int32_t level = s.a[node];
      const int64_t parent_row = st->cur[s.level_parent[level]];
      const int64_t* off = b.offsets + b.off_base[level];
      const bool distinct = static_cast<Op>(s.op[node]) == Op::kCountDistinct;
      const int64_t* codes = distinct ? b.codes + b.code_base[s.b[node]] : nullptr;
      const int64_t epoch = distinct ? ++st->epoch : 0;
      const int64_t saved = st->cur[level];
      int64_t count = 0;
      for (int64_t e = off[parent_row]; e < off[parent_row + 1]; ++e) {
        st->cur[level] = e;
        if (!AllKids(node, 0, s.n_kids[node], st)) continue;
        if (!distinct) { ++count; continue; }
        const int64_t code = codes[e];
        if (code < 0 || st->stamp[code] == epoch) continue;
        st->stamp[code] = epoch;
        ++count;
      }
      st->cur[level] = saved;
      return static_cast<double>(count);
    }
    default:
      throw Error(std::string("RuleProgram: op ") + OpToString(static_cast<Op>(s.op[node])) + " is not numeric");
  }
}

void RuleProgram::FindGates() {
  // Clauses over message-level atoms that a rule needs: the root atom, or an and()'s atom
  // children, or an or() (at the root or under the root and()) of message-level atoms only.
  // A rule is false wherever a clause has no true atom: Evaluate checks the clauses first,
  // without a call per node.
  const auto& s = spec_;
  auto is_atom0 = [&](int32_t i) { return static_cast<Op>(s.op[i]) == Op::kAtom && s.b[i] == 0; };
  auto clause = [&](int32_t i) {  // adds node i as a clause when it is one; false otherwise
    if (is_atom0(i)) {
      gate_atom_.push_back(s.a[i]);
    } else if (static_cast<Op>(s.op[i]) == Op::kOr && s.n_kids[i] > 0) {
      for (int32_t k = 0; k < s.n_kids[i]; ++k) {
        if (!is_atom0(s.kids[s.first_kid[i] + k])) return false;
      }
      for (int32_t k = 0; k < s.n_kids[i]; ++k) gate_atom_.push_back(s.a[s.kids[s.first_kid[i] + k]]);
    } else {
      return false;
    }
    clause_end_.push_back(static_cast<int32_t>(gate_atom_.size()));
    return true;
  };
  gate_begin_.assign(1, 0);
  for (int32_t root : s.roots) {
    if (static_cast<Op>(s.op[root]) == Op::kAnd) {
      for (int32_t k = 0; k < s.n_kids[root]; ++k) clause(s.kids[s.first_kid[root] + k]);
    } else {
      clause(root);
    }
    gate_begin_.push_back(static_cast<int32_t>(clause_end_.size()));
  }
}

void RuleProgram::Evaluate(const BatchView& batch, uint8_t* out) const {
  State st;
  st.batch = &batch;
  st.cur.assign(spec_.level_parent.size(), 0);
  st.stamp.assign(static_cast<size_t>(std::max<int64_t>(batch.n_codes, 0)), -1);
  const size_t n_rules = spec_.roots.size();
  const int64_t n = batch.n_messages;
  // Rule by rule: the gate clauses over all messages in plain byte loops (the compiler
  // vectorises them), then the rule's program only on the messages every clause left open.
  // Each (message, rule) answer depends on nothing else, so the order does not change results.
  std::vector<uint8_t> open(static_cast<size_t>(n)), any(static_cast<size_t>(n));
  for (size_t r = 0; r < n_rules; ++r) {
    std::fill(open.begin(), open.end(), uint8_t{1});
    for (int32_t c = gate_begin_[r]; c < gate_begin_[r + 1]; ++c) {
      std::fill(any.begin(), any.end(), uint8_t{0});
      for (int32_t g = c == 0 ? 0 : clause_end_[c - 1]; g < clause_end_[c]; ++g) {
        const uint8_t* col = batch.atoms + batch.atom_base[gate_atom_[g]];
        for (int64_t m = 0; m < n; ++m) any[m] |= col[m];
      }
      for (int64_t m = 0; m < n; ++m) open[m] &= static_cast<uint8_t>(any[m] != 0);
    }
    for (int64_t m = 0; m < n; ++m) {
      bool hit = false;
      if (open[m]) {
        st.cur[0] = m;
        hit = Bool(spec_.roots[r], &st);
      }
      out[m * static_cast<int64_t>(n_rules) + static_cast<int64_t>(r)] = hit ? 1 : 0;
    }
  }
}

std::string RuleProgram::Dump() const {
  std::ostringstream os;
  for (size_t i = 0; i < spec_.op.size(); ++i) {
    os << i << ": " << OpToString(static_cast<Op>(spec_.op[i])) << " a=" << spec_.a[i] << " b=" << spec_.b[i];
    if (static_cast<Op>(spec_.op[i]) == Op::kNumConst) os << " value=" << spec_.value[i];
    if (spec_.n_kids[i] > 0) {
      os << " kids=[";
      for (int32_t k = 0; k < spec_.n_kids[i]; ++k) os << (k ? "," : "") << spec_.kids[spec_.first_kid[i] + k];
      os << "]";
    }
    os << "\n";
  }
  os << "roots=[";
  for (size_t r = 0; r < spec_.roots.size(); ++r) os << (r ? "," : "") << spec_.roots[r];
  os << "]\n";
  return os.str();
}

namespace {
std::vector<uint32_t> FoldedCodePoints(const std::string& s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    size_t n;
    if (c < 0x80) { cp = Fold(c); n = 1; }
    else if ((c >> 5) == 0x6) { cp = c & 0x1F; n = 2; }
    else if ((c >> 4) == 0xE) { cp = c & 0x0F; n = 3; }
    else { cp = c & 0x07; n = 4; }
    for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}
}  // namespace

void PairMatch(const int64_t* a_offsets, const uint8_t* a_data, const int64_t* b_offsets, const uint8_t* b_data,
               int64_t n_rows, MatchMode mode, bool case_insensitive, uint8_t* out) {
  auto same = [case_insensitive](uint8_t x, uint8_t y) { return case_insensitive ? Fold(x) == Fold(y) : x == y; };
  auto equal_at = [&](const uint8_t* hay, const uint8_t* needle, int64_t n) {
    for (int64_t k = 0; k < n; ++k) {
      if (!same(hay[k], needle[k])) return false;
    }
    return true;
  };
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* a = a_data + a_offsets[r];
    const uint8_t* b = b_data + b_offsets[r];
    const int64_t na = a_offsets[r + 1] - a_offsets[r], nb = b_offsets[r + 1] - b_offsets[r];
    bool hit = false;
    if (nb > 0 && na >= nb) {
      switch (mode) {
        case MatchMode::kExact: hit = na == nb && equal_at(a, b, nb); break;
        case MatchMode::kPrefix: hit = equal_at(a, b, nb); break;
        case MatchMode::kSuffix: hit = equal_at(a + na - nb, b, nb); break;
        case MatchMode::kContains:
          for (int64_t i = 0; i + nb <= na && !hit; ++i) hit = equal_at(a + i, b, nb);
          break;
      }
    }
    out[r] = hit ? 1 : 0;
  }
}

namespace {
int64_t LevenshteinDp(std::vector<uint32_t> a, std::vector<uint32_t> b) {
  if (a.size() < b.size()) std::swap(a, b);
  std::vector<int64_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1] ? 1 : 0)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Myers' bit-vector edit distance in Hyyro's formulation, for a pattern of 1..64 code
// points: one machine word per text character instead of a row of the table.
class BitLevenshtein {
 public:
  explicit BitLevenshtein(const std::vector<uint32_t>& pattern) : m_(static_cast<int>(pattern.size())) {
    for (int i = 0; i < m_; ++i) {
      const uint32_t c = pattern[i];
      if (c < 128) {
        ascii_[c] |= uint64_t{1} << i;
      } else {
        auto it = std::find_if(other_.begin(), other_.end(), [c](const auto& e) { return e.first == c; });
        if (it == other_.end()) other_.emplace_back(c, uint64_t{1} << i);
        else it->second |= uint64_t{1} << i;
      }
    }
  }
  int64_t Distance(const std::vector<uint32_t>& text) const {
    const uint64_t top = uint64_t{1} << (m_ - 1);
    uint64_t pv = ~uint64_t{0}, mv = 0;
    int64_t score = m_;
    for (uint32_t c : text) {
      const uint64_t eq = Eq(c);
      const uint64_t xv = eq | mv;
      const uint64_t xh = (((eq & pv) + pv) ^ pv) | eq;
      uint64_t ph = mv | ~(xh | pv);
      uint64_t mh = pv & xh;
      if (ph & top) ++score;
      else if (mh & top) --score;
      ph = (ph << 1) | 1;  // row 0 of the table grows by one per text character
      mh <<= 1;
      pv = mh | ~(xv | ph);
      mv = ph & xv;
    }
    return score;
  }

 private:
  uint64_t Eq(uint32_t c) const {
    if (c < 128) return ascii_[c];
    for (const auto& e : other_) {
      if (e.first == c) return e.second;
    }
    return 0;
  }
  int m_;
  uint64_t ascii_[128] = {};
  std::vector<std::pair<uint32_t, uint64_t>> other_;
};

int64_t Levenshtein(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  const std::vector<uint32_t>& shorter = a.size() <= b.size() ? a : b;
  const std::vector<uint32_t>& longer = a.size() <= b.size() ? b : a;
  if (shorter.empty()) return static_cast<int64_t>(longer.size());
  if (shorter.size() <= 64) return BitLevenshtein(shorter).Distance(longer);
  return LevenshteinDp(a, b);
}

std::vector<uint32_t> RowCodePoints(const int64_t* offsets, const uint8_t* data, int64_t r) {
  return FoldedCodePoints(std::string(reinterpret_cast<const char*>(data + offsets[r]),
                                      static_cast<size_t>(offsets[r + 1] - offsets[r])));
}
}  // namespace

int64_t FoldedLevenshtein(const std::string& sa, const std::string& sb) {
  return Levenshtein(FoldedCodePoints(sa), FoldedCodePoints(sb));
}

void FoldedLevenshteinMatrix(const int64_t* a_offsets, int64_t n_a, const uint8_t* a_data, const int64_t* b_offsets,
                             int64_t n_b, const uint8_t* b_data, double* out) {
  std::vector<std::vector<uint32_t>> bs(static_cast<size_t>(n_b));
  std::vector<BitLevenshtein> bits;
  std::vector<int32_t> bit_of(static_cast<size_t>(n_b), -1);
  for (int64_t j = 0; j < n_b; ++j) {
    bs[j] = RowCodePoints(b_offsets, b_data, j);
    if (!bs[j].empty() && bs[j].size() <= 64) {
      bit_of[j] = static_cast<int32_t>(bits.size());
      bits.emplace_back(bs[j]);
    }
  }
  for (int64_t i = 0; i < n_a; ++i) {
    const std::vector<uint32_t> a = RowCodePoints(a_offsets, a_data, i);
    for (int64_t j = 0; j < n_b; ++j) {
      // The pattern side of the bit-parallel form may be either string: distance is symmetric.
      const int64_t d = bit_of[j] >= 0 ? bits[bit_of[j]].Distance(a) : Levenshtein(a, bs[j]);
      out[i * n_b + j] = static_cast<double>(d);
    }
  }
}

bool Utf8Valid(const uint8_t* data, int64_t n) {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  int64_t i = 0;
  while (i < n) {
    // ASCII runs 32 bytes at a time (four words or-ed, one test), then eight.
    while (i + 32 <= n) {
      uint64_t w[4];
      std::memcpy(w, data + i, 32);
      if (((w[0] | w[1] | w[2] | w[3]) & kHigh) != 0) break;
      i += 32;
    }
    if (i == n) break;
    if (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, data + i, 8);
      if ((word & kHigh) == 0) {
        i += 8;
        continue;
      }
    }
    const uint8_t c = data[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (i + len > n || data[i + 1] < lo || data[i + 1] > hi) return false;
    for (int k = 2; k < len; ++k) {
      if ((data[i + k] & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

void CodePointCounts(const int64_t* offsets, int64_t n_rows, const uint8_t* data, int64_t* out) {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  for (int64_t r = 0; r < n_rows; ++r) {
    // Code points = bytes - continuation bytes (10xxxxxx), eight bytes per step: bit 7 set and
    // bit 6 (shifted up into bit 7's place) clear.
    int64_t i = offsets[r], continuation = 0;
    const int64_t end = offsets[r + 1];
    for (; i + 8 <= end; i += 8) {
      uint64_t w;
      std::memcpy(&w, data + i, 8);
      // One bit per byte at bit 7: shift to bit 0 and sum the bytes with one multiply.
      continuation += static_cast<int64_t>((((w & ~(w << 1) & kHigh) >> 7) * 0x0101010101010101ULL) >> 56);
    }
    for (; i < end; ++i) continuation += (data[i] & 0xC0) == 0x80;
    out[r] = end - offsets[r] - continuation;
  }
}

void HashStrings(const int64_t* offsets, int64_t n_rows, const uint8_t* data, bool case_insensitive,
                 uint64_t* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    uint64_t h = 1469598103934665603ULL;
    for (int64_t i = offsets[r]; i < offsets[r + 1]; ++i) {
      h ^= case_insensitive ? Fold(data[i]) : data[i];
      h *= 1099511628211ULL;
    }
    out[r] = h;
  }
}

}  // namespace pyscore
