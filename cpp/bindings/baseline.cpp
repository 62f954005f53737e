// Python bindings of the baseline component (filled in by the component's owner).
#include <pybind11/pybind11.h>

namespace py = pybind11;

void BindBaseline(py::module_& m) { (void)m; }
