// Python bindings of the rules component (filled in by the component's owner).
#include <pybind11/pybind11.h>

namespace py = pybind11;

void BindRules(py::module_& m) { (void)m; }
