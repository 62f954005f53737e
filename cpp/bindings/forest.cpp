// Python bindings of the forest component (filled in by the component's owner).
#include <pybind11/pybind11.h>

namespace py = pybind11;

void BindForest(py::module_& m) { (void)m; }
