// Python bindings of the decision component (filled in by the component's owner).
#include <pybind11/pybind11.h>

namespace py = pybind11;

void BindDecision(py::module_& m) { (void)m; }
