// Python bindings of the decision policy.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>

#include "pyscore/decision.h"

namespace py = pybind11;

namespace {

constexpr int CArray = py::array::c_style | py::array::forcecast;

template <typename T>
void RequireShape(const py::array_t<T, CArray>& a, int64_t rows, int64_t cols, const char* name) {
  const bool ok = (cols < 0) ? (a.ndim() == 1 && a.shape(0) == rows)
                             : (a.ndim() == 2 && a.shape(0) == rows && a.shape(1) == cols);
  if (!ok) throw std::invalid_argument(std::string(name) + " has the wrong shape");
}

py::dict Decide(const pyscore::DecisionPolicy& policy, py::array_t<double, CArray> scores,
                py::array_t<int32_t, CArray> tenant, py::array_t<uint64_t, CArray> list_keys,
                py::array_t<uint8_t, CArray> never_allow) {
  if (scores.ndim() != 2) throw std::invalid_argument("scores must be 2-D (rows x detectors)");
  const int64_t n = scores.shape(0);
  const int64_t d = policy.NumDetectors();
  RequireShape(scores, n, d, "scores");
  RequireShape(tenant, n, -1, "tenant");
  if (list_keys.ndim() != 2 || list_keys.shape(0) != n) throw std::invalid_argument("list_keys must be (rows x k)");
  RequireShape(never_allow, n, -1, "never_allow");
  const auto k = static_cast<int32_t>(list_keys.shape(1));
  py::array_t<int32_t> category(n), action(n), deciding(n);
  py::array_t<double> score(n);
  py::array_t<int8_t> reason(n);
  py::array_t<uint8_t> fired({n, d});
  pyscore::DecisionOutputs out{category.mutable_data(), action.mutable_data(), deciding.mutable_data(),
                               score.mutable_data(),    reason.mutable_data(), fired.mutable_data()};
  {
    py::gil_scoped_release release;
    policy.Decide(scores.data(), n, tenant.data(), list_keys.data(), k, never_allow.data(), out);
  }
  py::dict result;
  result["category"] = category;
  result["action"] = action;
  result["deciding"] = deciding;
  result["score"] = score;
  result["reason"] = reason;
  result["fired"] = fired;
  return result;
}

}  // namespace

void BindDecision(py::module_& m) {
  py::class_<pyscore::DetectorSpec>(m, "DetectorSpec")
      .def(py::init([](int32_t category, int32_t tier, int32_t priority, bool shadow) {
             return pyscore::DetectorSpec{category, tier, priority, shadow};
           }),
           py::arg("category"), py::arg("tier"), py::arg("priority"), py::arg("shadow"))
      .def_readonly("category", &pyscore::DetectorSpec::category)
      .def_readonly("tier", &pyscore::DetectorSpec::tier)
      .def_readonly("priority", &pyscore::DetectorSpec::priority)
      .def_readonly("shadow", &pyscore::DetectorSpec::shadow);

  py::class_<pyscore::DecisionPolicy>(m, "DecisionPolicy")
      .def(py::init<std::vector<pyscore::DetectorSpec>, int32_t, int32_t, std::vector<double>,
                    std::vector<int32_t>, int32_t, int32_t, std::vector<int32_t>>(),
           py::arg("detectors"), py::arg("n_tenants"), py::arg("n_categories"), py::arg("thresholds"),
           py::arg("actions"), py::arg("safe_category"), py::arg("block_category"),
           py::arg("override_categories"))
      .def(
          "add_list_keys",
          [](pyscore::DecisionPolicy& p, int32_t tenant, bool block, py::array_t<uint64_t, CArray> keys) {
            if (keys.ndim() != 1) throw std::invalid_argument("keys must be 1-D");
            p.AddListKeys(tenant, block, keys.data(), keys.shape(0));
          },
          py::arg("tenant"), py::arg("block"), py::arg("keys"))
      .def("decide", &Decide, py::arg("scores"), py::arg("tenant"), py::arg("list_keys"),
           py::arg("never_allow"),
           "Decide a batch; returns arrays category, action, deciding, score, reason, fired.")
      .def_property_readonly("n_detectors", &pyscore::DecisionPolicy::NumDetectors)
      .def_property_readonly("n_tenants", &pyscore::DecisionPolicy::NumTenants);
}
