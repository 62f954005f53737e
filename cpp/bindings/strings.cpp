// Python bindings: Python strings -> one UTF-8 buffer and offsets, the form
// in which every string column reaches the core. This is conversion of
// Python objects only (nothing for the core to know), in one C loop instead
// of a bytes object per string, a join and a Python-level length pass.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

// The UTF-8 bytes of a non-ASCII string; lone surrogates (which strict UTF-8
// refuses) become '?', as str.encode("utf-8", "replace") makes them.
py::bytes EncodeUtf8(PyObject* s) {
  PyObject* b = PyUnicode_AsUTF8String(s);
  if (b == nullptr) {
    if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) throw py::error_already_set();
    PyErr_Clear();
    b = PyUnicode_AsEncodedString(s, "utf-8", "replace");
    if (b == nullptr) throw py::error_already_set();
  }
  return py::reinterpret_steal<py::bytes>(b);
}

// (text uint8, offsets int64 of len(strings) + 1): string i is
// text[offsets[i]:offsets[i + 1]]. The text array is writable.
py::tuple Utf8Concat(const py::list& strings) {
  const Py_ssize_t n = PyList_GET_SIZE(strings.ptr());
  py::array_t<int64_t> offsets(n + 1);
  int64_t* off = offsets.mutable_data();
  std::vector<py::bytes> encoded;  // non-ASCII strings, in order
  off[0] = 0;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* s = PyList_GET_ITEM(strings.ptr(), i);
    if (!PyUnicode_Check(s)) {
      throw py::type_error("utf8_concat: item " + std::to_string(i) + " is a " + Py_TYPE(s)->tp_name +
                           ", not a str");
    }
    Py_ssize_t size = 0;
    if (PyUnicode_IS_ASCII(s)) {
      size = PyUnicode_GET_LENGTH(s);
    } else {
      encoded.push_back(EncodeUtf8(s));
      size = PyBytes_GET_SIZE(encoded.back().ptr());
    }
    off[i + 1] = off[i] + size;
  }
  py::array_t<uint8_t> text(off[n]);
  auto* out = reinterpret_cast<char*>(text.mutable_data());
  size_t next_encoded = 0;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* s = PyList_GET_ITEM(strings.ptr(), i);
    const size_t size = static_cast<size_t>(off[i + 1] - off[i]);
    const char* src = PyUnicode_IS_ASCII(s) ? static_cast<const char*>(PyUnicode_DATA(s))
                                            : PyBytes_AS_STRING(encoded[next_encoded++].ptr());
    if (size != 0) std::memcpy(out + off[i], src, size);
  }
  return py::make_tuple(text, offsets);
}

}  // namespace

void BindStrings(py::module_& m) {
  m.def("utf8_concat", &Utf8Concat, py::arg("strings"),
        "(text uint8, offsets int64): the UTF-8 bytes of a list of str in one buffer (lone surrogates -> '?').");
}
