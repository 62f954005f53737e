// ColumnOps: the atoms and numeric columns of a rule program that read a packed batch
// directly, computed in one call (see rules.h).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pyscore/error.h"
#include "pyscore/rules.h"

namespace pyscore {

namespace {
// Rows of a level mapped to the rows of a column read at that level: the identity when the
// column lives at the level, the owning message when a message column is lifted to a group.
class RowMap {
 public:
  explicit RowMap(const std::vector<int64_t>* owner) : owner_(owner) {}
  int64_t operator()(int64_t r) const { return owner_ == nullptr ? r : (*owner_)[r]; }

 private:
  const std::vector<int64_t>* owner_;
};
}  // namespace

ColumnOps::ColumnOps(std::vector<int32_t> level_group, std::vector<AtomOp> atoms, std::vector<NumOp> nums,
                     std::vector<std::string> constants)
    : level_group_(std::move(level_group)), atoms_(std::move(atoms)), nums_(std::move(nums)) {
  const int32_t n_levels = static_cast<int32_t>(level_group_.size());
  PYSCORE_ARG_CHECK(n_levels >= 1 && level_group_[0] == -1, "ColumnOps: level 0 must be the message (group -1)");
  auto known = [&](int32_t level) { return level >= 0 && level < n_levels && (level == 0 || level_group_[level] >= 0); };
  auto readable = [&](int32_t col_level, int32_t level) { return col_level == level || col_level == 0; };
  for (const AtomOp& op : atoms_) {
    PYSCORE_ARG_CHECK(op.kind >= kNonNull && op.kind <= kPair, "ColumnOps: unknown atom kind");
    PYSCORE_ARG_CHECK(op.atom >= 0 && op.col_a >= 0 && known(op.level) && known(op.level_a) &&
                          readable(op.level_a, op.level),
                      "ColumnOps: atom, column or level out of range");
    if (op.kind == kNonNull) {
      PYSCORE_ARG_CHECK(op.level_a == op.level, "ColumnOps: non-null reads a column at its own level");
    } else {
      PYSCORE_ARG_CHECK(op.col_b >= 0 && known(op.level_b) && readable(op.level_b, op.level),
                        "ColumnOps: second column or level out of range");
    }
    if (op.kind == kPair) {
      const int32_t m = op.mode & 15;
      PYSCORE_ARG_CHECK(m == 1 || m == 2 || m == 4 || m == 8, "ColumnOps: bad pair mode");
    }
  }
  for (const NumOp& op : nums_) {
    PYSCORE_ARG_CHECK(op.kind >= kNumber && op.kind <= kLevConst, "ColumnOps: unknown numeric kind");
    PYSCORE_ARG_CHECK(op.column >= 0 && op.source >= 0 && known(op.level) && known(op.source_level),
                      "ColumnOps: numeric column, source or level out of range");
    if (op.kind == kLevConst) {
      PYSCORE_ARG_CHECK(readable(op.source_level, op.level), "ColumnOps: an edit distance reads a lower level");
      PYSCORE_ARG_CHECK(op.constant >= 0 && static_cast<size_t>(op.constant) < constants.size(),
                        "ColumnOps: constant out of range");
    } else {
      PYSCORE_ARG_CHECK(op.source_level == op.level, "ColumnOps: a copied column must be at its own level");
    }
    if (op.kind == kSignal) PYSCORE_ARG_CHECK(op.level == 0, "ColumnOps: signals are message columns");
  }
  constants_ = std::move(constants);
  for (size_t i = 0; i < nums_.size(); ++i) {
    const NumOp& op = nums_[i];
    if (op.kind != kLevConst) continue;
    auto it = std::find_if(lev_groups_.begin(), lev_groups_.end(), [&](const LevGroup& g) {
      return g.source == op.source && g.source_level == op.source_level;
    });
    if (it == lev_groups_.end()) {
      lev_groups_.push_back({op.source, op.source_level, {0}, "", {}, {}});
      it = lev_groups_.end() - 1;
    }
    it->ops.push_back(static_cast<int32_t>(i));
    it->slot.push_back(static_cast<int32_t>(it->const_offsets.size()) - 1);
    it->const_data += constants_[op.constant];
    it->const_offsets.push_back(static_cast<int64_t>(it->const_data.size()));
  }
}

void ColumnOps::Check(const PackedView& b, int64_t n_signals, const int64_t* level_rows, int64_t n_levels,
                      const int64_t* atom_base, int64_t n_atom_base, int64_t n_buf, const int64_t* num_base,
                      int64_t n_num_base, int64_t n_nums) const {
  PYSCORE_ARG_CHECK(n_levels == static_cast<int64_t>(level_group_.size()), "ColumnOps: level_rows has the wrong size");
  PYSCORE_ARG_CHECK(level_rows[0] == b.n_messages, "ColumnOps: level_rows[0] must be the number of messages");
  PYSCORE_ARG_CHECK(b.n_offsets >= 1 && b.offsets[0] >= 0 && b.offsets[b.n_offsets - 1] <= b.n_text,
                    "ColumnOps: offsets exceed the text");
  for (int64_t i = 0; i + 1 < b.n_offsets; ++i) PYSCORE_ARG_CHECK(b.offsets[i] <= b.offsets[i + 1], "ColumnOps: offsets decrease");
  for (size_t l = 1; l < level_group_.size(); ++l) {
    const int32_t g = level_group_[l];
    if (g < 0) continue;
    PYSCORE_ARG_CHECK(g < b.n_groups, "ColumnOps: group out of range");
    const int64_t* go = b.group_offsets + g * (b.n_messages + 1);
    PYSCORE_ARG_CHECK(go[0] == 0 && go[b.n_messages] == level_rows[l], "ColumnOps: group offsets do not span the level");
    for (int64_t m = 0; m < b.n_messages; ++m) PYSCORE_ARG_CHECK(go[m] <= go[m + 1], "ColumnOps: group offsets decrease");
  }
  auto string_rows = [&](int32_t k, int32_t level) {
    PYSCORE_ARG_CHECK(k < b.n_string_columns, "ColumnOps: string column out of range");
    PYSCORE_ARG_CHECK(b.string_start[k] >= 0 && b.string_start[k] <= b.string_start[k + 1] &&
                          b.string_start[k + 1] < b.n_offsets,
                      "ColumnOps: string column exceeds the offsets");
    PYSCORE_ARG_CHECK(b.string_start[k + 1] - b.string_start[k] == level_rows[level],
                      "ColumnOps: a string column's rows differ from its level's");
  };
  for (const AtomOp& op : atoms_) {
    PYSCORE_ARG_CHECK(op.atom < n_atom_base && atom_base[op.atom] >= 0 &&
                          atom_base[op.atom] + level_rows[op.level] <= n_buf,
                      "ColumnOps: an atom's rows exceed the buffer");
    string_rows(op.col_a, op.level_a);
    if (op.kind != kNonNull) string_rows(op.col_b, op.level_b);
  }
  for (const NumOp& op : nums_) {
    PYSCORE_ARG_CHECK(op.column < n_num_base && num_base[op.column] >= 0 &&
                          num_base[op.column] + level_rows[op.level] <= n_nums,
                      "ColumnOps: a numeric column's rows exceed the buffer");
    if (op.kind == kNumber) {
      PYSCORE_ARG_CHECK(op.source < b.n_number_columns, "ColumnOps: number column out of range");
      PYSCORE_ARG_CHECK(b.number_start[op.source + 1] - b.number_start[op.source] == level_rows[op.level],
                        "ColumnOps: a number column's rows differ from its level's");
    } else if (op.kind == kSignal) {
      PYSCORE_ARG_CHECK(op.source < n_signals, "ColumnOps: signal out of range");
    } else {
      string_rows(op.source, op.source_level);
    }
  }
}

void ColumnOps::Run(const PackedView& b, const double* signals, int64_t n_signals, const int64_t* level_rows,
                    int64_t n_levels, const int64_t* atom_base, int64_t n_atom_base, uint8_t* buf, int64_t n_buf,
                    const int64_t* num_base, int64_t n_num_base, double* nums, int64_t n_nums) const {
  Check(b, n_signals, level_rows, n_levels, atom_base, n_atom_base, n_buf, num_base, n_num_base, n_nums);
  // The owning message of every row of each group level, made on first use.
  std::vector<std::vector<int64_t>> owners(level_group_.size());
  std::vector<uint8_t> made(level_group_.size(), 0);
  auto row_map = [&](int32_t col_level, int32_t level) {
    if (col_level == level) return RowMap(nullptr);
    if (!made[level]) {
      const int64_t* go = b.group_offsets + level_group_[level] * (b.n_messages + 1);
      std::vector<int64_t>& o = owners[level];
      o.resize(static_cast<size_t>(level_rows[level]));
      for (int64_t m = 0; m < b.n_messages; ++m) std::fill(o.begin() + go[m], o.begin() + go[m + 1], m);
      made[level] = 1;
    }
    return RowMap(&owners[level]);
  };
  auto row_of = [&](int32_t k, int64_t r) { return b.offsets + b.string_start[k] + r; };  // [0] start, [1] end
  for (const AtomOp& op : atoms_) {
    uint8_t* out = buf + atom_base[op.atom];
    const int64_t n = level_rows[op.level];
    if (op.kind == kNonNull) {
      for (int64_t r = 0; r < n; ++r) {
        const int64_t* s = row_of(op.col_a, r);
        out[r] = s[1] > s[0];
      }
      continue;
    }
    const RowMap ma = row_map(op.level_a, op.level), mb = row_map(op.level_b, op.level);
    for (int64_t r = 0; r < n; ++r) {
      const int64_t* sa = row_of(op.col_a, ma(r));
      const int64_t* sb = row_of(op.col_b, mb(r));
      const int64_t la = sa[1] - sa[0], lb = sb[1] - sb[0];
      if (op.kind == kPair) {
        if (out[r]) continue;  // an earlier pattern of the atom matched
        const int64_t a_off[2] = {0, la}, b_off[2] = {0, lb};
        uint8_t hit = 0;
        PairMatch(a_off, b.text + sa[0], b_off, b.text + sb[0], 1, static_cast<MatchMode>(op.mode & 15),
                  (op.mode & 16) != 0, &hit);
        out[r] = hit;
        continue;
      }
      if (la == 0 || lb == 0) {
        out[r] = 0;
        continue;
      }
      const bool same = la == lb && std::memcmp(b.text + sa[0], b.text + sb[0], static_cast<size_t>(la)) == 0;
      out[r] = (op.kind == kStrEq) == same;
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<int64_t> counts, distinct_offsets, which;
  std::string distinct_data;
  std::vector<double> dist;
  for (const NumOp& op : nums_) {
    double* out = nums + num_base[op.column];
    const int64_t n = level_rows[op.level];
    switch (op.kind) {
      case kNumber:
        std::copy(b.numbers + b.number_start[op.source], b.numbers + b.number_start[op.source] + n, out);
        break;
      case kSignal:
        for (int64_t r = 0; r < n; ++r) out[r] = signals[r * n_signals + op.source];
        break;
      case kCodePoints:
        counts.resize(static_cast<size_t>(n));
        CodePointCounts(b.offsets + b.string_start[op.source], n, b.text, counts.data());
        for (int64_t r = 0; r < n; ++r) out[r] = counts[r] == 0 ? nan : static_cast<double>(counts[r]);
        break;
      case kLevConst:
        break;  // below, per source column
    }
  }
  // Edit distances: per source column, every constant in one kernel call over the column's own
  // rows (offsets index the whole text), then lifted to each op's level.
  for (const LevGroup& g : lev_groups_) {
    const int64_t n_src = level_rows[g.source_level];
    const int64_t* src = b.offsets + b.string_start[g.source];
    const int64_t n_const = static_cast<int64_t>(g.const_offsets.size()) - 1;
    // Distances of each distinct value once (a batch repeats its domains): rows of `distinct`.
    std::unordered_map<std::string_view, int64_t> index;
    index.reserve(static_cast<size_t>(n_src));
    distinct_offsets.assign(1, 0);
    distinct_data.clear();
    which.resize(static_cast<size_t>(n_src));
    for (int64_t r = 0; r < n_src; ++r) {
      const std::string_view v(reinterpret_cast<const char*>(b.text + src[r]), static_cast<size_t>(src[r + 1] - src[r]));
      auto [it, fresh] = index.emplace(v, static_cast<int64_t>(distinct_offsets.size()) - 1);
      if (fresh) {
        distinct_data.insert(distinct_data.end(), v.begin(), v.end());
        distinct_offsets.push_back(static_cast<int64_t>(distinct_data.size()));
      }
      which[r] = it->second;
    }
    const int64_t n_distinct = static_cast<int64_t>(distinct_offsets.size()) - 1;
    dist.resize(static_cast<size_t>(n_distinct * n_const));
    FoldedLevenshteinMatrix(distinct_offsets.data(), n_distinct, reinterpret_cast<const uint8_t*>(distinct_data.data()),
                            g.const_offsets.data(), n_const, reinterpret_cast<const uint8_t*>(g.const_data.data()),
                            dist.data());
    for (size_t t = 0; t < g.ops.size(); ++t) {
      const NumOp& op = nums_[g.ops[t]];
      double* out = nums + num_base[op.column];
      const int64_t n = level_rows[op.level];
      if (constants_[op.constant].empty()) {
        std::fill(out, out + n, nan);
        continue;
      }
      const RowMap m = row_map(op.source_level, op.level);
      for (int64_t r = 0; r < n; ++r) {
        const int64_t s = m(r);
        out[r] = src[s + 1] == src[s] ? nan : dist[which[s] * n_const + g.slot[t]];
      }
    }
  }
}

}  // namespace pyscore
