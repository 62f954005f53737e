// Decision policy: detector scores of a batch -> one decision per row.
//
// The core sees detectors as columns of a score matrix, each with a
// category, a tier and a mode, and tenants as rows of threshold and action
// tables plus hashed allow / block sets. It knows nothing about email.
//
// Precedence, per row:
//   block list  >  allow list (never silences an override category such as
//   malware, nor a row flagged "never allow", e.g. a DMARC failure)
//   >  tier 0 detectors (high-precision rules)  >  tier 1 (models)  >  default.
// Within a tier the fired active detector with the lowest priority number
// wins; ties go to the larger score - threshold margin, then the lower index.
#pragma once

#include <cstdint>
#include <unordered_set>
#include <vector>

namespace pyscore {

enum class DecisionReason : int8_t { kDefault = 0, kBlockList = 1, kAllowList = 2, kDetector = 3 };

struct DetectorSpec {
  int32_t category = 0;  // index into the policy's categories
  int32_t tier = 0;      // 0 = high-precision rules, 1 = models, ...
  int32_t priority = 0;  // lower wins within a tier
  bool shadow = false;   // evaluated and reported, never acting
};

// Caller-allocated outputs for n rows and d detectors.
struct DecisionOutputs {
  int32_t* category;  // n: winning category, or the policy's safe category
  int32_t* action;    // n
  int32_t* deciding;  // n: detector index, or -1 (default / list)
  double* score;      // n: deciding detector's score, NaN otherwise
  int8_t* reason;     // n: DecisionReason
  uint8_t* fired;     // n x d: score >= threshold (active and shadow alike)
};

class DecisionPolicy {
 public:
  // thresholds: n_tenants x n_detectors; actions: n_tenants x n_categories.
  DecisionPolicy(std::vector<DetectorSpec> detectors, int32_t n_tenants, int32_t n_categories,
                 std::vector<double> thresholds, std::vector<int32_t> actions,
                 int32_t safe_category, int32_t block_category,
                 std::vector<int32_t> override_categories);

  // Allow / block sets hold 64-bit key hashes (sender address, domain, ...).
  void AddListKeys(int32_t tenant, bool block, const uint64_t* keys, int64_t n_keys);

  // scores: n x d row-major (NaN = detector not evaluated, never fires);
  // tenant: n; list_keys: n x k hashes to test against the row's tenant
  // lists (0 = no key); never_allow: n flags.
  void Decide(const double* scores, int64_t n, const int32_t* tenant, const uint64_t* list_keys,
              int32_t k, const uint8_t* never_allow, DecisionOutputs out) const;

  int32_t NumDetectors() const { return static_cast<int32_t>(detectors_.size()); }
  int32_t NumTenants() const { return n_tenants_; }
  int32_t NumCategories() const { return n_categories_; }

 private:
  bool InList(const std::vector<std::unordered_set<uint64_t>>& lists, int32_t tenant,
              const uint64_t* keys, int32_t k) const;
  bool IsOverride(int32_t category) const;

  std::vector<DetectorSpec> detectors_;
  int32_t n_tenants_;
  int32_t n_categories_;
  std::vector<double> thresholds_;
  std::vector<int32_t> actions_;
  int32_t safe_category_;
  int32_t block_category_;
  std::vector<uint8_t> is_override_;  // per category
  std::vector<std::unordered_set<uint64_t>> allow_;
  std::vector<std::unordered_set<uint64_t>> block_;
};

}  // namespace pyscore
