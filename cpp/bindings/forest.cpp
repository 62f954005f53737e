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

py::object PredictOne(const Forest& f, const In<float>& row) {
  if (row.size() != f.NFeatures()) {
    throw std::invalid_argument("forest: row must have " + std::to_string(f.NFeatures()) + " features");
  }
  if (f.NOutputs() == 1) {
    double p;
    f.PredictRow(row.data(), &p);
    return py::float_(p);
  }
  Out<double> out(f.NOutputs());
  f.PredictRow(row.data(), out.mutable_data());
  return std::move(out);
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
      .def("contributions", &Contributions, py::arg("X"), py::arg("output"), py::arg("out").noconvert(),
           py::arg("method") = "saabas", "Fill out (n, n_features + 1) with per-feature contributions + bias.")
      .def("top_contributions", &TopContributions, py::arg("X"), py::arg("output"), py::arg("k"),
           py::arg("method"), py::arg("features").noconvert(), py::arg("values").noconvert(),
           py::arg("bias").noconvert(), "The k largest contributions by magnitude per row.");
}
