// Python bindings of the rules component: LiteralMatcher, RuleProgram, hash_strings.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "pyscore/rules.h"

namespace py = pybind11;
using pyscore::LiteralMatcher;
using pyscore::ColumnOps;
using pyscore::RuleProgram;

namespace {
template <typename T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

template <typename T>
std::vector<T> ToVector(const CArray<T>& a) {
  return std::vector<T>(a.data(), a.data() + a.size());
}

// Offsets that start at or above 0, never decrease and stay inside the data.
void CheckOffsets(const CArray<int64_t>& offsets, const CArray<uint8_t>& data, const char* name) {
  const int64_t* o = offsets.data();
  const int64_t n = offsets.size() - 1;
  if (o[0] < 0 || o[n] > data.size())
    throw std::invalid_argument(std::string(name) + ": offsets exceed the data");
  for (int64_t r = 0; r < n; ++r) {
    if (o[r] > o[r + 1]) throw std::invalid_argument(std::string(name) + ": offsets decrease");
  }
}

void CheckLen(const py::array& a, int64_t want, const char* name) {
  if (a.size() != want) {
    throw std::invalid_argument(std::string(name) + " has " + std::to_string(a.size()) + " entries, expected " +
                                std::to_string(want));
  }
}
}  // namespace

void BindRules(py::module_& m) {
  py::class_<LiteralMatcher>(m, "LiteralMatcher",
                             "Aho-Corasick over byte strings; one pass marks every target atom of every row.")
      .def(py::init([](const std::vector<py::bytes>& patterns, bool case_insensitive, CArray<int32_t> target_pattern,
                       CArray<int32_t> target_atom, CArray<uint8_t> target_mode) {
             std::vector<std::string> pats;
             pats.reserve(patterns.size());
             for (const auto& p : patterns) pats.emplace_back(p);
             return new LiteralMatcher(pats, case_insensitive, ToVector(target_pattern), ToVector(target_atom),
                                       ToVector(target_mode));
           }),
           py::arg("patterns"), py::arg("case_insensitive"), py::arg("target_pattern"), py::arg("target_atom"),
           py::arg("target_mode"))
      .def(
          "match",
          [](const LiteralMatcher& self, CArray<int64_t> offsets, CArray<uint8_t> data, CArray<int64_t> atom_base,
             py::array_t<uint8_t, py::array::c_style> buf) {
            if (offsets.size() < 1) throw std::invalid_argument("offsets must have at least one entry");
            auto out = buf.mutable_unchecked<1>();
            uint8_t* out_ptr = out.mutable_data(0);
            const int64_t n_rows = offsets.size() - 1;
            py::gil_scoped_release release;
            self.Match(offsets.data(), n_rows, data.data(), data.size(), atom_base.data(), atom_base.size(), out_ptr,
                       buf.size());
          },
          py::arg("offsets"), py::arg("data"), py::arg("atom_base"), py::arg("buf"))
      .def_property_readonly("n_states", &LiteralMatcher::NumStates)
      .def_static(
          "match_many",
          [](const std::vector<const LiteralMatcher*>& matchers, CArray<int64_t> first, CArray<int64_t> n_rows,
             CArray<int64_t> offsets, CArray<uint8_t> data, CArray<int64_t> atom_base,
             py::array_t<uint8_t, py::array::c_style> buf) {
            const int64_t n = static_cast<int64_t>(matchers.size());
            CheckLen(first, n, "first");
            CheckLen(n_rows, n, "n_rows");
            for (int64_t i = 0; i < n; ++i) {
              if (matchers[i] == nullptr) throw std::invalid_argument("match_many: a matcher is None");
              const int64_t f = first.data()[i], k = n_rows.data()[i];
              if (f < 0 || k < 0 || f + k + 1 > offsets.size())
                throw std::invalid_argument("match_many: a column's rows exceed the offsets");
            }
            uint8_t* out_ptr = buf.mutable_data();
            py::gil_scoped_release release;
            for (int64_t i = 0; i < n; ++i) {
              matchers[i]->Match(offsets.data() + first.data()[i], n_rows.data()[i], data.data(), data.size(),
                                 atom_base.data(), atom_base.size(), out_ptr, buf.size());
            }
          },
          py::arg("matchers"), py::arg("first"), py::arg("n_rows"), py::arg("offsets"), py::arg("data"),
          py::arg("atom_base"), py::arg("buf"),
          "Matcher i over rows first[i] .. first[i] + n_rows[i] of one shared (offsets, data) buffer: "
          "every column of a packed batch in one call.")
      .def_property_readonly("n_patterns", &LiteralMatcher::NumPatterns);

  py::class_<ColumnOps>(m, "ColumnOps",
                        "Atoms and numeric columns read straight from a packed batch, computed in one call.")
      .def(py::init([](CArray<int32_t> level_group, CArray<int32_t> atom_ops, CArray<int32_t> num_ops,
                       const std::vector<py::bytes>& constants) {
             if (atom_ops.ndim() != 2 || atom_ops.shape(1) != 8) throw std::invalid_argument("atom_ops must be (n, 8)");
             if (num_ops.ndim() != 2 || num_ops.shape(1) != 6) throw std::invalid_argument("num_ops must be (n, 6)");
             std::vector<ColumnOps::AtomOp> atoms(static_cast<size_t>(atom_ops.shape(0)));
             for (size_t i = 0; i < atoms.size(); ++i) {
               const int32_t* r = atom_ops.data() + i * 8;
               atoms[i] = {r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]};
             }
             std::vector<ColumnOps::NumOp> nums(static_cast<size_t>(num_ops.shape(0)));
             for (size_t i = 0; i < nums.size(); ++i) {
               const int32_t* r = num_ops.data() + i * 6;
               nums[i] = {r[0], r[1], r[2], r[3], r[4], r[5]};
             }
             std::vector<std::string> consts;
             for (const auto& c : constants) consts.emplace_back(c);
             return new ColumnOps(ToVector(level_group), std::move(atoms), std::move(nums), std::move(consts));
           }),
           py::arg("level_group"), py::arg("atom_ops"), py::arg("num_ops"), py::arg("constants"),
           "atom_ops rows: kind (0 non-null, 1 ==, 2 !=, 3 pair match), atom, level, column a, its level, "
           "column b, its level, pair mode (+16 folded); num_ops rows: kind (0 number column, 1 signal, "
           "2 code points, 3 edit distance to a constant), column, level, source, source level, constant.")
      .def(
          "run",
          [](const ColumnOps& self, CArray<uint8_t> text, CArray<int64_t> offsets, CArray<int64_t> string_start,
             CArray<double> numbers, CArray<int64_t> number_start, CArray<int64_t> group_offsets,
             CArray<double> signals, CArray<int64_t> level_rows, CArray<int64_t> atom_base,
             py::array_t<uint8_t, py::array::c_style> buf, CArray<int64_t> num_base,
             py::array_t<double, py::array::c_style> nums) {
            if (group_offsets.ndim() != 2) throw std::invalid_argument("group_offsets must be 2-D");
            if (signals.ndim() != 2) throw std::invalid_argument("signals must be 2-D");
            pyscore::PackedView v;
            v.n_messages = group_offsets.shape(1) - 1;
            v.text = text.data();
            v.n_text = text.size();
            v.offsets = offsets.data();
            v.n_offsets = offsets.size();
            v.string_start = string_start.data();
            v.n_string_columns = string_start.size() - 1;
            v.numbers = numbers.data();
            v.number_start = number_start.data();
            v.n_number_columns = number_start.size() - 1;
            v.group_offsets = group_offsets.data();
            v.n_groups = group_offsets.shape(0);
            if (v.n_messages < 0 || v.n_string_columns < 0 || v.n_number_columns < 0)
              throw std::invalid_argument("ColumnOps.run: empty offsets or starts");
            if (signals.shape(0) != v.n_messages) throw std::invalid_argument("signals must have a row per message");
            for (int64_t k = 0; k <= v.n_number_columns; ++k) {
              if (number_start.data()[k] < 0 || number_start.data()[k] > numbers.size() ||
                  (k > 0 && number_start.data()[k] < number_start.data()[k - 1]))
                throw std::invalid_argument("ColumnOps.run: number_start exceeds the numbers");
            }
            uint8_t* buf_ptr = buf.mutable_data();
            double* nums_ptr = nums.mutable_data();
            py::gil_scoped_release release;
            self.Run(v, signals.data(), signals.shape(1), level_rows.data(), level_rows.size(), atom_base.data(),
                     atom_base.size(), buf_ptr, buf.size(), num_base.data(), num_base.size(), nums_ptr, nums.size());
          },
          py::arg("text"), py::arg("offsets"), py::arg("string_start"), py::arg("numbers"), py::arg("number_start"),
          py::arg("group_offsets"), py::arg("signals"), py::arg("level_rows"), py::arg("atom_base"), py::arg("buf"),
          py::arg("num_base"), py::arg("nums"));

  py::class_<RuleProgram>(m, "RuleProgram", "A flat boolean program over atoms, evaluated per message.")
      .def(py::init([](CArray<int8_t> op, CArray<int32_t> a, CArray<int32_t> b, CArray<int32_t> first_kid,
                       CArray<int32_t> n_kids, CArray<double> value, CArray<int32_t> kids, CArray<int32_t> roots,
                       CArray<int32_t> level_parent, int32_t n_atoms, int32_t n_num_columns,
                       int32_t n_code_columns) {
             pyscore::ProgramSpec spec;
             spec.op = ToVector(op);
             spec.a = ToVector(a);
             spec.b = ToVector(b);
             spec.first_kid = ToVector(first_kid);
             spec.n_kids = ToVector(n_kids);
             spec.value = ToVector(value);
             spec.kids = ToVector(kids);
             spec.roots = ToVector(roots);
             spec.level_parent = ToVector(level_parent);
             spec.n_atoms = n_atoms;
             spec.n_num_columns = n_num_columns;
             spec.n_code_columns = n_code_columns;
             return new RuleProgram(std::move(spec));
           }),
           py::arg("op"), py::arg("a"), py::arg("b"), py::arg("first_kid"), py::arg("n_kids"), py::arg("value"),
           py::arg("kids"), py::arg("roots"), py::arg("level_parent"), py::arg("n_atoms"), py::arg("n_num_columns"),
           py::arg("n_code_columns"))
      .def(
          "evaluate",
          [](const RuleProgram& self, int64_t n_messages, CArray<int64_t> offsets, CArray<int64_t> off_base,
             CArray<int64_t> level_rows, CArray<uint8_t> atoms, CArray<int64_t> atom_base, CArray<double> nums,
             CArray<int64_t> num_base, CArray<int64_t> codes, CArray<int64_t> code_base, int64_t n_codes,
             py::array_t<uint8_t, py::array::c_style> out) {
            const int64_t n_levels = self.NumLevels();
            CheckLen(off_base, n_levels, "off_base");
            CheckLen(level_rows, n_levels, "level_rows");
            if (out.ndim() != 2 || out.shape(0) != n_messages || out.shape(1) != self.NumRules()) {
              throw std::invalid_argument("out must have shape (n_messages, n_rules)");
            }
            const int64_t* rows = level_rows.data();
            pyscore::BatchView v;
            v.n_messages = n_messages;
            v.offsets = offsets.data();
            v.off_base = off_base.data();
            v.level_rows = rows;
            v.atoms = atoms.data();
            v.atom_base = atom_base.data();
            v.nums = nums.data();
            v.num_base = num_base.data();
            v.codes = codes.data();
            v.code_base = code_base.data();
            v.n_codes = n_codes;
            self.CheckBatch(v, offsets.size(), atoms.size(), atom_base.size(), nums.size(), num_base.size(),
                            codes.size(), code_base.size());
            uint8_t* out_ptr = out.mutable_data();
            py::gil_scoped_release release;
            self.Evaluate(v, out_ptr);
          },
          py::arg("n_messages"), py::arg("offsets"), py::arg("off_base"), py::arg("level_rows"), py::arg("atoms"),
          py::arg("atom_base"), py::arg("nums"), py::arg("num_base"), py::arg("codes"), py::arg("code_base"),
          py::arg("n_codes"), py::arg("out"))
      .def("dump", &RuleProgram::Dump)
      .def_property_readonly("n_rules", &RuleProgram::NumRules)
      .def_property_readonly("n_levels", &RuleProgram::NumLevels);

  m.def(
      "pair_match",
      [](CArray<int64_t> a_offsets, CArray<uint8_t> a_data, CArray<int64_t> b_offsets, CArray<uint8_t> b_data,
         int mode, bool case_insensitive) {
        if (a_offsets.size() < 1 || a_offsets.size() != b_offsets.size())
          throw std::invalid_argument("pair_match: a and b need the same number of rows");
        const int64_t n = a_offsets.size() - 1;
        if (a_offsets.data()[n] > a_data.size() || b_offsets.data()[n] > b_data.size())
          throw std::invalid_argument("pair_match: offsets exceed the data");
        if (mode != 1 && mode != 2 && mode != 4 && mode != 8) throw std::invalid_argument("pair_match: bad mode");
        py::array_t<uint8_t> out(n);
        uint8_t* p = out.mutable_data();
        {
          py::gil_scoped_release release;
          pyscore::PairMatch(a_offsets.data(), a_data.data(), b_offsets.data(), b_data.data(), n,
                             static_cast<pyscore::MatchMode>(mode), case_insensitive, p);
        }
        return out;
      },
      py::arg("a_offsets"), py::arg("a_data"), py::arg("b_offsets"), py::arg("b_data"), py::arg("mode"),
      py::arg("case_insensitive"), "Row-wise: does b[r] occur in a[r] (contains / prefix / suffix / exact)?");
  m.def(
      "folded_levenshtein",
      [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
        if (a.size() != b.size()) throw std::invalid_argument("folded_levenshtein: a and b differ in length");
        py::array_t<double> out(static_cast<py::ssize_t>(a.size()));
        double* p = out.mutable_data();
        {
          py::gil_scoped_release release;
          for (size_t i = 0; i < a.size(); ++i) p[i] = static_cast<double>(pyscore::FoldedLevenshtein(a[i], b[i]));
        }
        return out;
      },
      py::arg("a"), py::arg("b"), "Edit distances of string pairs, in code points, ASCII letters folded.");
  m.def(
      "folded_levenshtein_matrix",
      [](CArray<int64_t> a_offsets, CArray<uint8_t> a_data, CArray<int64_t> b_offsets, CArray<uint8_t> b_data) {
        if (a_offsets.size() < 1 || b_offsets.size() < 1)
          throw std::invalid_argument("folded_levenshtein_matrix: offsets must have at least one entry");
        const int64_t n_a = a_offsets.size() - 1, n_b = b_offsets.size() - 1;
        CheckOffsets(a_offsets, a_data, "a");
        CheckOffsets(b_offsets, b_data, "b");
        py::array_t<double> out({static_cast<py::ssize_t>(n_a), static_cast<py::ssize_t>(n_b)});
        double* p = out.mutable_data();
        {
          py::gil_scoped_release release;
          pyscore::FoldedLevenshteinMatrix(a_offsets.data(), n_a, a_data.data(), b_offsets.data(), n_b, b_data.data(),
                                           p);
        }
        return out;
      },
      py::arg("a_offsets"), py::arg("a_data"), py::arg("b_offsets"), py::arg("b_data"),
      "Edit distances (code points, ASCII letters folded) of every string of column a to every string of b.");
  m.def(
      "utf8_valid",
      [](CArray<uint8_t> data, int64_t start, int64_t stop) {
        if (start < 0 || stop < start || stop > data.size())
          throw std::invalid_argument("utf8_valid: start/stop outside the data");
        const uint8_t* p = data.data();
        py::gil_scoped_release release;
        return pyscore::Utf8Valid(p + start, stop - start);
      },
      py::arg("data"), py::arg("start"), py::arg("stop"), "Whether data[start:stop] is well-formed UTF-8.");
  m.def(
      "code_point_counts",
      [](CArray<int64_t> offsets, CArray<uint8_t> data) {
        if (offsets.size() < 1) throw std::invalid_argument("offsets must have at least one entry");
        CheckOffsets(offsets, data, "offsets");
        const int64_t n = offsets.size() - 1;
        py::array_t<int64_t> out(n);
        int64_t* p = out.mutable_data();
        {
          py::gil_scoped_release release;
          pyscore::CodePointCounts(offsets.data(), n, data.data(), p);
        }
        return out;
      },
      py::arg("offsets"), py::arg("data"), "Number of UTF-8 code points of each string.");
  m.def(
      "hash_strings",
      [](CArray<int64_t> offsets, CArray<uint8_t> data, bool case_insensitive) {
        if (offsets.size() < 1) throw std::invalid_argument("offsets must have at least one entry");
        const int64_t n = offsets.size() - 1;
        if (offsets.data()[n] > data.size()) throw std::invalid_argument("offsets exceed the data");
        py::array_t<uint64_t> out(n);
        uint64_t* p = out.mutable_data();
        {
          py::gil_scoped_release release;
          pyscore::HashStrings(offsets.data(), n, data.data(), case_insensitive, p);
        }
        return out;
      },
      py::arg("offsets"), py::arg("data"), py::arg("case_insensitive"),
      "64-bit FNV-1a hash of each string (ASCII-folded when case_insensitive).");
}
