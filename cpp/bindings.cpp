// The one Python entry point of the core: module pyscore._core.
// Each component binds itself in cpp/bindings/<component>.cpp; this file
// only declares and calls them, and maps core errors to Python types.
#include <pybind11/pybind11.h>

#include "pyscore/error.h"

namespace py = pybind11;

void BindForest(py::module_& m);    // cpp/bindings/forest.cpp
void BindRules(py::module_& m);     // cpp/bindings/rules.cpp
void BindBaseline(py::module_& m);  // cpp/bindings/baseline.cpp
void BindDecision(py::module_& m);  // cpp/bindings/decision.cpp
void BindStrings(py::module_& m);   // cpp/bindings/strings.cpp

PYBIND11_MODULE(_core, m) {
  m.doc() = "pyscore compiled core: columns, programs, forests, policies.";
  m.attr("ABI_VERSION") = 1;
  py::register_exception<pyscore::Error>(m, "CoreError", PyExc_RuntimeError);
  BindForest(m);
  BindRules(m);
  BindBaseline(m);
  BindDecision(m);
  BindStrings(m);
}
