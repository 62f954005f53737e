// Decision policy evaluation: see decision.h for the precedence.
#include "pyscore/decision.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "pyscore/error.h"

namespace pyscore {

DecisionPolicy::DecisionPolicy(std::vector<DetectorSpec> detectors, int32_t n_tenants,
                               int32_t n_categories, std::vector<double> thresholds,
                               std::vector<int32_t> actions, int32_t safe_category,
                               int32_t block_category, std::vector<int32_t> override_categories)
    : detectors_(std::move(detectors)),
      n_tenants_(n_tenants),
      n_categories_(n_categories),
      thresholds_(std::move(thresholds)),
      actions_(std::move(actions)),
      safe_category_(safe_category),
      block_category_(block_category),
      is_override_(n_categories > 0 ? n_categories : 0, 0),
      allow_(n_tenants > 0 ? n_tenants : 0),
      block_(n_tenants > 0 ? n_tenants : 0) {
  const auto d = static_cast<int64_t>(detectors_.size());
  PYSCORE_ARG_CHECK(n_tenants > 0, "a policy needs at least one tenant");
  PYSCORE_ARG_CHECK(n_categories > 0, "a policy needs at least one category");
  PYSCORE_ARG_CHECK(static_cast<int64_t>(thresholds_.size()) == int64_t{n_tenants} * d,
                    "thresholds must have n_tenants x n_detectors entries (" +
                        std::to_string(thresholds_.size()) + " vs. " + std::to_string(n_tenants * d) + ")");
  PYSCORE_ARG_CHECK(static_cast<int64_t>(actions_.size()) == int64_t{n_tenants} * n_categories,
                    "actions must have n_tenants x n_categories entries");
  PYSCORE_ARG_CHECK(safe_category >= 0 && safe_category < n_categories, "safe category out of range");
  PYSCORE_ARG_CHECK(block_category >= 0 && block_category < n_categories, "block category out of range");
  for (const auto& spec : detectors_) {
    PYSCORE_ARG_CHECK(spec.category >= 0 && spec.category < n_categories,
                      "detector category out of range: " + std::to_string(spec.category));
  }
  for (int32_t c : override_categories) {
    PYSCORE_ARG_CHECK(c >= 0 && c < n_categories, "override category out of range");
    is_override_[c] = 1;
  }
}

void DecisionPolicy::AddListKeys(int32_t tenant, bool block, const uint64_t* keys, int64_t n_keys) {
  PYSCORE_ARG_CHECK(tenant >= 0 && tenant < n_tenants_, "tenant index out of range: " + std::to_string(tenant));
  auto& set = block ? block_[tenant] : allow_[tenant];
  for (int64_t i = 0; i < n_keys; ++i) {
    if (keys[i] != 0) set.insert(keys[i]);
  }
}

bool DecisionPolicy::InList(const std::vector<std::unordered_set<uint64_t>>& lists, int32_t tenant,
                            const uint64_t* keys, int32_t k) const {
  const auto& set = lists[tenant];
  if (set.empty()) return false;
  for (int32_t j = 0; j < k; ++j) {
    if (keys[j] != 0 && set.count(keys[j]) != 0) return true;
  }
  return false;
}

bool DecisionPolicy::IsOverride(int32_t category) const { return is_override_[category] != 0; }

void DecisionPolicy::Decide(const double* scores, int64_t n, const int32_t* tenant,
                            const uint64_t* list_keys, int32_t k, const uint8_t* never_allow,
                            DecisionOutputs out) const {
  const int32_t d = NumDetectors();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t t = tenant[i];
    PYSCORE_ARG_CHECK(t >= 0 && t < n_tenants_, "row " + std::to_string(i) + ": tenant index out of range");
    const double* row = scores + i * d;
    const double* thr = thresholds_.data() + int64_t{t} * d;
    uint8_t* fired = out.fired + i * d;
    int32_t best = -1;
    bool override_fired = false;
    for (int32_t j = 0; j < d; ++j) {
      const double s = row[j];
      fired[j] = (!std::isnan(s) && s >= thr[j]) ? 1 : 0;
      const DetectorSpec& spec = detectors_[j];
      if (!fired[j] || spec.shadow) continue;
      override_fired = override_fired || IsOverride(spec.category);
      if (best < 0) {
        best = j;
        continue;
      }
      const DetectorSpec& cur = detectors_[best];
      if (spec.tier != cur.tier) {
        if (spec.tier < cur.tier) best = j;
      } else if (spec.priority != cur.priority) {
        if (spec.priority < cur.priority) best = j;
      } else if (row[j] - thr[j] > row[best] - thr[best]) {
        best = j;
      }
    }
    const uint64_t* keys = list_keys + i * k;
    int32_t category = safe_category_;
    int32_t deciding = -1;
    double score = std::numeric_limits<double>::quiet_NaN();
    DecisionReason reason = DecisionReason::kDefault;
    if (k > 0 && InList(block_, t, keys, k)) {
      category = block_category_;
      reason = DecisionReason::kBlockList;
    } else if (k > 0 && !override_fired && !never_allow[i] && InList(allow_, t, keys, k)) {
      reason = DecisionReason::kAllowList;
    } else if (best >= 0) {
      category = detectors_[best].category;
      deciding = best;
      score = row[best];
      reason = DecisionReason::kDetector;
    }
    out.category[i] = category;
    out.action[i] = actions_[int64_t{t} * n_categories_ + category];
    out.deciding[i] = deciding;
    out.score[i] = score;
    out.reason[i] = static_cast<int8_t>(reason);
  }
}

}  // namespace pyscore
