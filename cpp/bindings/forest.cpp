// Python bindings of the forest component: pyscore._core.Forest.
// Arrays are checked and converted here; the evaluation runs with the GIL
// released, and outputs are allocated by the caller (pyscore.models.forest).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "pyscore/forest.h"

namespace py = pybind11;
using pyscore::Forest;

namespace {

template <typename T>
using In = py::array_t<T, py::array::c_style | py::array::forcecast>;
template <typename T>
using Out = py::array_t<T, py::array::c_style>;

void CheckLength(const py::array& a, py::ssize_t n, const char* name) {
  if (a.ndim() != 1 || a.shape(0) != n) {
    throw std::invalid_argument(std::string("forest: ") + name + " must be 1-d of length " + std::to_string(n) +
                                " (got " + std::to_string(a.ndim() == 1 ? a.shape(0) : -a.ndim()) + ")");
  }
}

std::unique_ptr<Forest> MakeForest(int32_t n_features, int32_t n_outputs, const In<int64_t>& tree_offsets,
                                   const In<int32_t>& tree_output, const In<int32_t>& feature,
                                   const In<double>& threshold, const In<int8_t>& op, const In<int32_t>& left,
                                   const In<int32_t>& right, const In<uint8_t>& default_left,
                                   const In<double>& leaf_value, const std::optional<In<double>>& cover,
                                   const In<double>& base_score, const std::string& post_transform,
                                   double sigmoid_alpha, bool float32_sum) {
  if (tree_output.ndim() != 1 || tree_output.shape(0) < 1) {
    throw std::invalid_argument("forest: tree_output must be 1-d with at least one tree");
  }
  const py::ssize_t n_trees = tree_output.shape(0);
  if (feature.ndim() != 1 || feature.shape(0) < 1) throw std::invalid_argument("forest: feature must be 1-d, non-empty");
  const py::ssize_t n_nodes = feature.shape(0);
  CheckLength(tree_offsets, n_trees + 1, "tree_offsets");
  CheckLength(threshold, n_nodes, "threshold");
  CheckLength(op, n_nodes, "op");
  CheckLength(left, n_nodes, "left");
  CheckLength(right, n_nodes, "right");
  CheckLength(default_left, n_nodes, "default_left");
  CheckLength(leaf_value, n_nodes, "leaf_value");
  if (cover) CheckLength(*cover, n_nodes, "cover");
  if (n_outputs < 1) throw std::invalid_argument("forest: n_outputs must be positive");
  CheckLength(base_score, n_outputs, "base_score");
  pyscore::ForestSpec s;
  s.n_features = n_features;
  s.n_outputs = n_outputs;
  s.n_trees = n_trees;
  s.tree_offsets = tree_offsets.data();
  s.tree_output = tree_output.data();
  s.n_nodes = n_nodes;
  s.feature = feature.data();
  s.threshold = threshold.data();
  s.op = op.data();
  s.left = left.data();
  s.right = right.data();
  s.default_left = default_left.data();
  s.leaf_value = leaf_value.data();
  s.cover = cover ? cover->data() : nullptr;
  s.base_score = base_score.data();
  s.post_transform = pyscore::PostTransformFromString(post_transform);
  s.sigmoid_alpha = sigmoid_alpha;
  s.float32_sum = float32_sum;
  py::gil_scoped_release release;
  return std::make_unique<Forest>(s);
}

py::ssize_t CheckMatrix(const Forest& f, const In<float>& X) {
  if (X.ndim() != 2 || X.shape(1) != f.NFeatures()) {
    throw std::invalid_argument("forest: X must be 2-d with " + std::to_string(f.NFeatures()) + " columns");
  }
  return X.shape(0);
}

void CheckOut(const py::array& out, py::ssize_t rows, py::ssize_t cols, const char* name) {
  if (out.ndim() != 2 || out.shape(0) != rows || out.shape(1) != cols) {
    throw std::invalid_argument(std::string("forest: ") + name + " must have shape (" + std::to_string(rows) +
                                ", " + std::to_string(cols) + ")");
  }
}

void Predict(const Forest& f, const In<float>& X, Out<double>& out, bool margin) {
  const py::ssize_t n = CheckMatrix(f, X);
  CheckOut(out, n, f.NOutputs(), "out");
  const float* x = X.data();
  double* o = out.mutable_data();
  py::gil_scoped_release release;
  if (margin) {
    f.PredictMargin(x, n, o);
  } else {
    f.Predict(x, n, o);
  }
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
constexpr char kNativeByteOrder = '>';
#else
constexpr char kNativeByteOrder = '<';
#endif

// The per-message path reads a C-contiguous, aligned, native float32 numpy
// array in place, checked through the array's own fields (no conversion, no
// new array: an array_t argument would call PyArray_FromAny every time);
// anything else is converted into `holder`.
const float* RowData(py::handle row, py::ssize_t n, In<float>& holder, const char* what) {
  const auto& api = py::detail::npy_api::get();
  const float* data = nullptr;
  py::ssize_t size = 0;
  if (api.PyArray_Check_(row.ptr())) {
    const auto* a = py::detail::array_proxy(row.ptr());
    const auto* d = py::detail::array_descriptor_proxy(a->descr);
    constexpr int kFlags = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
    const char native = kNativeByteOrder;
    if (d->type_num == py::detail::npy_api::NPY_FLOAT_ && (d->byteorder == '=' || d->byteorder == native) &&
        (a->flags & kFlags) == kFlags) {
      size = 1;
      for (int i = 0; i < a->nd; ++i) size *= a->dimensions[i];
      data = reinterpret_cast<const float*>(a->data);
    }
  }
  if (data == nullptr) {
    holder = In<float>::ensure(row);
    if (!holder) throw std::invalid_argument(std::string("forest: ") + what + " must be an array of float32");
    size = holder.size();
    data = holder.data();
  }
  if (size != n) {
    throw std::invalid_argument(std::string("forest: ") + what + " must have " + std::to_string(n) + " features (got " +
                                std::to_string(size) + ")");
  }
  return data;
}

double* OutData(py::handle out, py::ssize_t n) {
  const auto& api = py::detail::npy_api::get();
  if (api.PyArray_Check_(out.ptr())) {
    const auto* a = py::detail::array_proxy(out.ptr());
    const auto* d = py::detail::array_descriptor_proxy(a->descr);
    constexpr int kFlags = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | py::detail::npy_api::NPY_ARRAY_ALIGNED_ |
                           py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    const char native = kNativeByteOrder;
    py::ssize_t size = 1;
    for (int i = 0; i < a->nd; ++i) size *= a->dimensions[i];
    if (d->type_num == py::detail::npy_api::NPY_DOUBLE_ && (d->byteorder == '=' || d->byteorder == native) &&
        (a->flags & kFlags) == kFlags && size == n) {
      return reinterpret_cast<double*>(a->data);
    }
  }
  throw std::invalid_argument("forest: out must be a writable C-contiguous float64 array of " + std::to_string(n) +
                              " values");
}

// One row, on the calling thread (a few microseconds: releasing the GIL
// would cost more than it frees).
py::object PredictOne(const Forest& f, py::handle row) {
  In<float> holder;
  const float* x = RowData(row, f.NFeatures(), holder, "row");
  if (f.NOutputs() == 1) {
    double p;
    f.PredictRow(x, &p);
    return py::float_(p);
  }
  Out<double> out(f.NOutputs());
  f.PredictRow(x, out.mutable_data());
  return std::move(out);
}

void PredictOneInto(const Forest& f, py::handle row, py::handle out) {
  In<float> holder;
  const float* x = RowData(row, f.NFeatures(), holder, "row");
  f.PredictRow(x, OutData(out, f.NOutputs()));
}

// A ForestSet plus the Python forests it points into (kept alive with it).
struct PyForestSet {
  std::unique_ptr<pyscore::ForestSet> set;
  py::tuple forests;
};

std::unique_ptr<PyForestSet> MakeForestSet(const py::sequence& forests, const py::sequence& columns, int32_t n_inputs) {
  if (py::len(columns) != py::len(forests)) throw std::invalid_argument("forest set: one column map per forest");
  std::vector<const Forest*> ptrs;
  std::vector<std::vector<int32_t>> cols;
  for (size_t i = 0; i < py::len(forests); ++i) {
    ptrs.push_back(forests[i].cast<const Forest*>());
    if (columns[i].is_none()) {
      cols.emplace_back();
    } else {
      const auto c = In<int32_t>::ensure(columns[i]);
      if (!c || c.ndim() != 1) throw std::invalid_argument("forest set: columns[" + std::to_string(i) + "] must be 1-d ints");
      cols.emplace_back(c.data(), c.data() + c.size());
    }
  }
  auto out = std::make_unique<PyForestSet>();
  out->set = std::make_unique<pyscore::ForestSet>(std::move(ptrs), cols, n_inputs);
  out->forests = py::tuple(forests);
  return out;
}

void SetPredictOne(const PyForestSet& s, py::handle row, py::handle out) {
  In<float> holder;
  const float* x = RowData(row, s.set->NInputs(), holder, "row");
  s.set->PredictRow(x, OutData(out, s.set->NOutputs()));
}

void SetPredict(const PyForestSet& s, const In<float>& X, Out<double>& out) {
  if (X.ndim() != 2 || X.shape(1) != s.set->NInputs()) {
    throw std::invalid_argument("forest set: X must be 2-d with " + std::to_string(s.set->NInputs()) + " columns");
  }
  const py::ssize_t n = X.shape(0);
  CheckOut(out, n, s.set->NOutputs(), "out");
  const float* x = X.data();
  double* o = out.mutable_data();
  py::gil_scoped_release release;
  s.set->Predict(x, n, o);
}

int Method(const std::string& method) {
  if (method == "saabas") return 0;
  if (method == "treeshap") return 1;
  throw std::invalid_argument("forest: contribution method must be 'saabas' or 'treeshap', not '" + method + "'");
}

void Contributions(const Forest& f, const In<float>& X, int32_t output, Out<double>& out, const std::string& method) {
  const py::ssize_t n = CheckMatrix(f, X);
  CheckOut(out, n, f.NFeatures() + 1, "out");
  const int m = Method(method);
  const float* x = X.data();
  double* o = out.mutable_data();
  py::gil_scoped_release release;
  if (m == 0) {
    f.Contributions(x, n, output, o);
  } else {
    f.ShapContributions(x, n, output, o);
  }
}

void TopContributions(const Forest& f, const In<float>& X, int32_t output, int32_t k, const std::string& method,
                      Out<int32_t>& features, Out<double>& values, Out<double>& bias) {
  const py::ssize_t n = CheckMatrix(f, X);
  const py::ssize_t kk = std::min<py::ssize_t>(std::max(k, 0), f.NFeatures());
  CheckOut(features, n, kk, "features");
  CheckOut(values, n, kk, "values");
  if (bias.ndim() != 1 || bias.shape(0) != n) throw std::invalid_argument("forest: bias must have shape (n,)");
  const int m = Method(method);
  const float* x = X.data();
  int32_t* fo = features.mutable_data();
  double* vo = values.mutable_data();
  double* bo = bias.mutable_data();
  py::gil_scoped_release release;
  f.TopContributions(x, n, output, k, m, fo, vo, bo);
}

// The shortest call from Python for one row: a builtin function (vectorcall,
// METH_FASTCALL) bound to a capsule holding the C++ object, instead of
// pybind11's general dispatcher. The capsule keeps the Python owner alive.
constexpr const char* kCapsuleName = "pyscore.forest.row_call";

template <typename T>
const T& CapsuleTarget(PyObject* capsule) {
  return *static_cast<const T*>(PyCapsule_GetPointer(capsule, kCapsuleName));
}

template <typename Fn>
PyObject* Guarded(Fn&& fn) {
  try {
    return fn();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const std::invalid_argument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

PyObject* FastForestRow(PyObject* capsule, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 1) {
    PyErr_SetString(PyExc_TypeError, "predict_one(row) takes exactly one argument");
    return nullptr;
  }
  return Guarded([&] { return PredictOne(CapsuleTarget<Forest>(capsule), args[0]).release().ptr(); });
}

PyObject* FastSetRow(PyObject* capsule, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "predict_one_into(row, out) takes exactly two arguments");
    return nullptr;
  }
  return Guarded([&] {
    SetPredictOne(CapsuleTarget<PyForestSet>(capsule), args[0], args[1]);
    Py_RETURN_NONE;
  });
}

PyMethodDef kForestRowDef = {"predict_one", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&FastForestRow)),
                             METH_FASTCALL, "predict_one(row): one row's scores (float, or array of n_outputs)."};
PyMethodDef kSetRowDef = {"predict_one_into", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&FastSetRow)),
                          METH_FASTCALL, "predict_one_into(row, out): every forest's scores of one row into out."};

void ReleaseOwner(PyObject* capsule) { Py_XDECREF(static_cast<PyObject*>(PyCapsule_GetContext(capsule))); }

// A builtin bound to `target`, which `owner` (a Python object) owns.
py::object RowCall(PyMethodDef* def, const void* target, const py::object& owner) {
  PyObject* capsule = PyCapsule_New(const_cast<void*>(target), kCapsuleName, &ReleaseOwner);
  if (capsule == nullptr) throw py::error_already_set();
  PyCapsule_SetContext(capsule, owner.inc_ref().ptr());
  PyObject* fn = PyCFunction_New(def, capsule);
  Py_DECREF(capsule);
  if (fn == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(fn);
}

}  // namespace

void BindForest(py::module_& m) {
  py::class_<Forest>(m, "Forest", "A compiled tree ensemble (see pyscore.models.forest.CompiledForest).")
      .def(py::init(&MakeForest), py::arg("n_features"), py::arg("n_outputs"), py::arg("tree_offsets"),
           py::arg("tree_output"), py::arg("feature"), py::arg("threshold"), py::arg("op"), py::arg("left"),
           py::arg("right"), py::arg("default_left"), py::arg("leaf_value"), py::arg("cover"),
           py::arg("base_score"), py::arg("post_transform"), py::arg("sigmoid_alpha") = 1.0,
           py::arg("float32_sum") = false)
      .def_property_readonly("n_features", &Forest::NFeatures)
      .def_property_readonly("n_outputs", &Forest::NOutputs)
      .def_property_readonly("n_trees", &Forest::NTrees)
      .def_property_readonly("max_depth", &Forest::MaxDepth)
      .def_property_readonly("n_complete_trees", &Forest::NCompleteTrees)
      .def_property_readonly("float32_sum", &Forest::Float32Sum)
      .def_property_readonly("post_transform",
                             [](const Forest& f) { return pyscore::PostTransformToString(f.GetPostTransform()); })
      .def(
          "predict", [](const Forest& f, const In<float>& X, Out<double>& out) { Predict(f, X, out, false); },
          py::arg("X"), py::arg("out").noconvert(), "Fill out (n, n_outputs) with post-transformed scores.")
      .def(
          "predict_margin", [](const Forest& f, const In<float>& X, Out<double>& out) { Predict(f, X, out, true); },
          py::arg("X"), py::arg("out").noconvert(), "Fill out (n, n_outputs) with raw margins.")
      .def("predict_one", &PredictOne, py::arg("row"),
           "One row: a float when the model has one output, else an array of n_outputs.")
      .def("predict_one_into", &PredictOneInto, py::arg("row"), py::arg("out"),
           "One row into out (float64, n_outputs values).")
      .def(
          "row_call", [](const py::object& self) { return RowCall(&kForestRowDef, &self.cast<const Forest&>(), self); },
          "predict_one as a builtin function (the cheapest call per row); keeps the forest alive.")
      .def("contributions", &Contributions, py::arg("X"), py::arg("output"), py::arg("out").noconvert(),
           py::arg("method") = "saabas", "Fill out (n, n_features + 1) with per-feature contributions + bias.")
      .def("top_contributions", &TopContributions, py::arg("X"), py::arg("output"), py::arg("k"),
           py::arg("method"), py::arg("features").noconvert(), py::arg("values").noconvert(),
           py::arg("bias").noconvert(), "The k largest contributions by magnitude per row.")
      .def_static("set_simd_level", &Forest::SetSimdLevel, py::arg("level"),
                  "Kernels of every forest: 0 portable scalar, 1 AVX2, 2 AVX-512 (CPU permitting).")
      .def_static("simd_level", &Forest::SimdLevel)
      .def_static("max_simd_level", &Forest::MaxSimdLevel);

  py::class_<PyForestSet>(m, "ForestSet", "Several forests on one shared row (see pyscore.models.forest.ForestSet).")
      .def(py::init(&MakeForestSet), py::arg("forests"), py::arg("columns"), py::arg("n_inputs"))
      .def_property_readonly("n_inputs", [](const PyForestSet& s) { return s.set->NInputs(); })
      .def_property_readonly("n_outputs", [](const PyForestSet& s) { return s.set->NOutputs(); })
      .def_property_readonly("output_offsets", [](const PyForestSet& s) { return s.set->OutputOffsets(); })
      .def("predict_one", &SetPredictOne, py::arg("row"), py::arg("out"),
           "Fill out (n_outputs,) with every forest's scores of one row.")
      .def(
          "row_call",
          [](const py::object& self) { return RowCall(&kSetRowDef, &self.cast<const PyForestSet&>(), self); },
          "predict_one as a builtin function (row, out) -> None; keeps the set alive.")
      .def("predict", &SetPredict, py::arg("X"), py::arg("out").noconvert(),
           "Fill out (n, n_outputs) with every forest's scores.");
}
