// Python bindings of the baseline store: numpy columns in, caller-allocated arrays out.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "pyscore/baseline_store.h"

namespace py = pybind11;
namespace bl = pyscore::baseline;

namespace {

template <class T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

// Keeps the converted arrays alive while the GIL is released.
struct Columns {
  bl::EventColumns ev;
  std::vector<py::object> keep;
};

template <class T>
const T* Get(const py::dict& cols, const char* name, int64_t expected, Columns& out, bool required = true) {
  if (!cols.contains(name)) {
    if (required) throw std::invalid_argument(std::string("baseline events: column '") + name + "' is missing");
    return nullptr;
  }
  Array<T> arr = Array<T>::ensure(cols[name]);
  if (!arr) throw std::invalid_argument(std::string("baseline events: column '") + name + "' is not numeric");
  if (arr.ndim() != 1 || arr.shape(0) != expected) {
    throw std::invalid_argument(std::string("baseline events: column '") + name + "' has " +
                                std::to_string(arr.ndim() == 1 ? arr.shape(0) : -1) + " values, expected " +
                                std::to_string(expected));
  }
  out.keep.push_back(arr);
  return arr.data();
}

Columns ToColumns(const py::dict& cols, bool for_lookup) {
  Columns c;
  py::object time_obj = cols.contains("time") ? py::object(cols["time"]) : py::object(py::none());
  Array<int64_t> time = Array<int64_t>::ensure(time_obj);
  if (!time || time.ndim() != 1) throw std::invalid_argument("baseline events: column 'time' is missing or not 1-D");
  const int64_t n = time.shape(0);
  bl::EventColumns& ev = c.ev;
  ev.n_messages = n;
  ev.time = Get<int64_t>(cols, "time", n, c);
  ev.sender = Get<uint64_t>(cols, "sender", n, c);
  ev.domain = Get<uint64_t>(cols, "domain", n, c);
  ev.global_domain = Get<uint64_t>(cols, "global_domain", n, c);
  ev.name = Get<uint64_t>(cols, "name", n, c);
  ev.verdict = Get<uint8_t>(cols, "verdict", n, c);
  ev.sender_own = Get<uint8_t>(cols, "sender_own", n, c);
  ev.rcpt_offsets = Get<int64_t>(cols, "rcpt_offsets", n + 1, c);
  ev.reply_offsets = Get<int64_t>(cols, "reply_offsets", n + 1, c);
  const int64_t nr = ev.rcpt_offsets[n], np = ev.reply_offsets[n];
  ev.rcpt = Get<uint64_t>(cols, "rcpt", nr, c);
  ev.rcpt_domain = Get<uint64_t>(cols, "rcpt_domain", nr, c);
  ev.pair = Get<uint64_t>(cols, "pair", nr, c);
  ev.reverse_pair = Get<uint64_t>(cols, "reverse_pair", nr, c, for_lookup);
  ev.reply_pair = Get<uint64_t>(cols, "reply_pair", np, c);
  return c;
}

// Key strings (see bl::KeyStrings) of n messages out of one int64 index array (time [n],
// rcpt_offsets [n + 1], reply_offsets [n + 1], string offsets) and the bytes they point into:
// two arguments for the whole batch, which keeps a one-message call cheap.
struct Keys {
  bl::KeyStrings strings;
  const int64_t* time = nullptr;
  Array<int64_t> index;
  py::buffer_info data;
};

Keys ToKeys(int64_t n, const py::object& index, const py::buffer& data) {
  Keys k;
  if (n < 0) throw std::invalid_argument("baseline key strings: negative message count");
  k.index = Array<int64_t>::ensure(index);
  if (!k.index || k.index.ndim() != 1) throw std::invalid_argument("baseline key strings: index must be 1-D integers");
  const int64_t size = k.index.shape(0);
  if (size < 3 * n + 3) {
    throw std::invalid_argument("baseline key strings: index has " + std::to_string(size) + " values, " +
                                std::to_string(n) + " messages need at least " + std::to_string(3 * n + 3));
  }
  k.data = data.request();
  if (k.data.ndim != 1 || k.data.itemsize != 1 || (k.data.shape[0] > 1 && k.data.strides[0] != 1)) {
    throw std::invalid_argument("baseline key strings: data must be contiguous bytes");
  }
  const int64_t* p = k.index.data();
  bl::KeyStrings& s = k.strings;
  s.n_messages = n;
  k.time = p;
  s.rcpt_offsets = p + n;
  s.reply_offsets = p + 2 * n + 1;
  s.offsets = p + 3 * n + 2;
  s.data = static_cast<const uint8_t*>(k.data.ptr);
  s.data_bytes = k.data.shape[0];
  if (s.rcpt_offsets[0] != 0 || s.reply_offsets[0] != 0 || s.NumRecipients() < 0 || s.NumReplyTo() < 0 ||
      s.NumRecipients() > size || s.NumReplyTo() > size) {
    throw std::invalid_argument("baseline key strings: recipient and reply-to offsets must start at 0 and not decrease");
  }
  if (size - (3 * n + 2) != s.NumStrings() + 1) {
    throw std::invalid_argument("baseline key strings: " + std::to_string(size - (3 * n + 3)) + " strings, expected " +
                                std::to_string(s.NumStrings()) + " (4 per message, 2 per recipient, 1 per reply-to)");
  }
  s.Validate();
  return k;
}

template <class T>
const T* PerMessage(const py::object& obj, int64_t n, const char* name, std::vector<py::object>& keep) {
  if (obj.is_none()) return nullptr;
  Array<T> arr = Array<T>::ensure(obj);
  if (!arr || arr.ndim() != 1 || arr.shape(0) != n) {
    throw std::invalid_argument(std::string("baseline key strings: '") + name + "' must have one value per message (" +
                                std::to_string(n) + ")");
  }
  keep.push_back(arr);
  return arr.data();
}

// A float32 (n, >= kNumOutputs) array with contiguous rows, possibly strided (a slice of a
// wider block); the outputs go to its first kNumOutputs columns.
float* CheckStridedOut(py::array& out, int64_t n, int64_t* row_stride) {
  if (!out.dtype().is(py::dtype::of<float>()) || out.ndim() != 2 || out.shape(0) != n ||
      out.shape(1) < bl::kNumOutputs ||
      (n > 0 && out.strides(1) != static_cast<py::ssize_t>(sizeof(float))) ||  // numpy gives empty arrays 0 strides
      (n > 1 && (out.strides(0) < 0 || out.strides(0) % static_cast<py::ssize_t>(sizeof(float)) != 0))) {
    throw std::invalid_argument("baseline lookup: out must be float32 of shape (" + std::to_string(n) + ", >= " +
                                std::to_string(bl::kNumOutputs) + ") with contiguous rows");
  }
  if (!out.writeable()) throw std::invalid_argument("baseline lookup: out is read-only");
  *row_stride = n > 1 ? out.strides(0) / static_cast<py::ssize_t>(sizeof(float)) : bl::kNumOutputs;
  if (*row_stride < bl::kNumOutputs) throw std::invalid_argument("baseline lookup: out rows overlap");
  return static_cast<float*>(out.mutable_data());
}

float* CheckOut(py::array_t<float, py::array::c_style>& out, int64_t n) {
  if (out.ndim() != 2 || out.shape(0) != n || out.shape(1) != bl::kNumOutputs) {
    throw std::invalid_argument("baseline lookup: out must be float32 C-contiguous of shape (" + std::to_string(n) +
                                ", " + std::to_string(bl::kNumOutputs) + ")");
  }
  if (!out.writeable()) throw std::invalid_argument("baseline lookup: out is read-only");
  return out.mutable_data();
}

bl::Table ToTable(int table) {
  if (table < 0 || table >= bl::kNumTables) throw std::invalid_argument("no baseline table " + std::to_string(table));
  return static_cast<bl::Table>(table);
}

}  // namespace

void BindBaseline(py::module_& m) {
  std::vector<std::string> outputs, tables;
  for (int i = 0; i < bl::kNumOutputs; ++i) outputs.emplace_back(bl::OutputName(i));
  for (int i = 0; i < bl::kNumTables; ++i) tables.emplace_back(bl::TableToString(static_cast<bl::Table>(i)));
  m.attr("BASELINE_OUTPUTS") = outputs;
  m.attr("BASELINE_TABLES") = tables;

  m.def(
      "baseline_hash",
      [](Array<int64_t> offsets, Array<uint8_t> data, Array<uint64_t> seeds, py::object rows, bool separator,
         py::array_t<uint64_t, py::array::c_style> out) {
        const int64_t n = seeds.shape(0);
        if (offsets.ndim() != 1 || offsets.shape(0) < 1) throw std::invalid_argument("baseline_hash: offsets must be 1-D, len >= 1");
        if (out.ndim() != 1 || out.shape(0) != n) throw std::invalid_argument("baseline_hash: out must have len(seeds) values");
        const int64_t n_strings = offsets.shape(0) - 1;
        if (offsets.data()[n_strings] > data.shape(0)) throw std::invalid_argument("baseline_hash: offsets run past data");
        Array<int64_t> row_arr;
        const int64_t* row_ptr = nullptr;
        if (!rows.is_none()) {
          row_arr = Array<int64_t>::ensure(rows);
          if (!row_arr || row_arr.shape(0) != n) throw std::invalid_argument("baseline_hash: rows must have len(seeds) values");
          row_ptr = row_arr.data();
        } else if (n_strings != n) {
          throw std::invalid_argument("baseline_hash: without rows, seeds and strings must have the same length");
        }
        uint64_t* o = out.mutable_data();
        py::gil_scoped_release release;
        bl::HashStrings(offsets.data(), data.data(), n_strings, seeds.data(), row_ptr, n, separator, o);
      },
      py::arg("offsets"), py::arg("data"), py::arg("seeds"), py::arg("rows"), py::arg("separator"), py::arg("out"),
      "out[i] = FNV-1a 64 continued from seeds[i] over (0x1f if separator) + string rows[i].");

  m.def(
      "baseline_event_keys",
      [](int64_t n, const py::object& index, const py::buffer& data, py::array_t<uint64_t, py::array::c_style> out) {
        Keys k = ToKeys(n, index, data);
        const bl::KeyLayout at(k.strings);
        if (out.ndim() != 1 || out.shape(0) != at.Size() || !out.writeable()) {
          throw std::invalid_argument("baseline_event_keys: out must be a writable uint64 array of " +
                                      std::to_string(at.Size()) + " values");
        }
        uint64_t* o = out.mutable_data();
        py::gil_scoped_release release;
        bl::HashEventKeys(k.strings, o);
      },
      py::arg("n"), py::arg("index"), py::arg("data"), py::arg("out"),
      "Hashes the key strings of n messages (index: time, rcpt_offsets, reply_offsets, string offsets) "
      "into the key columns sender, domain, global_domain, name, rcpt, rcpt_domain, pair, reverse_pair, reply_pair.");

  py::class_<bl::BaselineStore>(m, "BaselineStore")
      .def(py::init<double>(), py::arg("half_life_seconds"), "An in-memory store.")
      .def_static(
          "open",
          [](const std::string& dir, bool create, bool read_only, double half_life_seconds, bool sync) {
            py::gil_scoped_release release;
            return bl::BaselineStore::Open(dir, create, read_only, half_life_seconds, sync);
          },
          py::arg("dir"), py::arg("create"), py::arg("read_only"), py::arg("half_life_seconds"), py::arg("sync"))
      .def(
          "lookup",
          [](const bl::BaselineStore& s, const py::dict& cols, py::array_t<float, py::array::c_style> out) {
            Columns c = ToColumns(cols, true);
            float* o = CheckOut(out, c.ev.n_messages);
            py::gil_scoped_release release;
            s.Lookup(c.ev, o);
          },
          py::arg("columns"), py::arg("out"))
      .def(
          "observe",
          [](bl::BaselineStore& s, const py::dict& cols) {
            Columns c = ToColumns(cols, false);
            py::gil_scoped_release release;
            s.Observe(c.ev);
          },
          py::arg("columns"))
      .def(
          "replay",
          [](bl::BaselineStore& s, const py::dict& cols, py::array_t<float, py::array::c_style> out) {
            Columns c = ToColumns(cols, true);
            float* o = CheckOut(out, c.ev.n_messages);
            py::gil_scoped_release release;
            s.Replay(c.ev, o);
          },
          py::arg("columns"), py::arg("out"))
      .def(
          "lookup_keys",
          [](const bl::BaselineStore& s, int64_t n, const py::object& index, const py::buffer& data, py::array out) {
            Keys k = ToKeys(n, index, data);
            int64_t row_stride;
            float* o = CheckStridedOut(out, n, &row_stride);
            py::gil_scoped_release release;
            std::vector<uint64_t> hashes(static_cast<size_t>(bl::KeyLayout(k.strings).Size()));
            bl::HashEventKeys(k.strings, hashes.data());
            s.Lookup(bl::EventColumnsOfKeys(k.strings, hashes.data(), k.time, nullptr, nullptr), o, row_stride);
          },
          py::arg("n"), py::arg("index"), py::arg("data"), py::arg("out"),
          "lookup() of key strings, hashed and looked up in one call; out: (n, >= len(OUTPUTS)) float32, "
          "rows contiguous, the outputs written to its first columns.")
      .def(
          "observe_keys",
          [](bl::BaselineStore& s, int64_t n, const py::object& index, const py::buffer& data,
             const py::object& verdict, const py::object& sender_own) {
            Keys k = ToKeys(n, index, data);
            std::vector<py::object> keep;
            const uint8_t* v = PerMessage<uint8_t>(verdict, n, "verdict", keep);
            const uint8_t* own = PerMessage<uint8_t>(sender_own, n, "sender_own", keep);
            if (!v || !own) throw std::invalid_argument("baseline observe: verdict and sender_own are needed");
            py::gil_scoped_release release;
            std::vector<uint64_t> hashes(static_cast<size_t>(bl::KeyLayout(k.strings).Size()));
            bl::HashEventKeys(k.strings, hashes.data());
            s.Observe(bl::EventColumnsOfKeys(k.strings, hashes.data(), k.time, v, own));
          },
          py::arg("n"), py::arg("index"), py::arg("data"), py::arg("verdict"), py::arg("sender_own"),
          "observe() of key strings.")
      .def(
          "replay_keys",
          [](bl::BaselineStore& s, int64_t n, const py::object& index, const py::buffer& data,
             const py::object& verdict, const py::object& sender_own, py::array out) {
            Keys k = ToKeys(n, index, data);
            std::vector<py::object> keep;
            const uint8_t* v = PerMessage<uint8_t>(verdict, n, "verdict", keep);
            const uint8_t* own = PerMessage<uint8_t>(sender_own, n, "sender_own", keep);
            if (!v || !own) throw std::invalid_argument("baseline replay: verdict and sender_own are needed");
            int64_t row_stride;
            float* o = CheckStridedOut(out, n, &row_stride);
            if (row_stride != bl::kNumOutputs || out.shape(1) != bl::kNumOutputs) {
              throw std::invalid_argument("baseline replay: out must be C-contiguous (n, " +
                                          std::to_string(bl::kNumOutputs) + ")");
            }
            py::gil_scoped_release release;
            std::vector<uint64_t> hashes(static_cast<size_t>(bl::KeyLayout(k.strings).Size()));
            bl::HashEventKeys(k.strings, hashes.data());
            s.Replay(bl::EventColumnsOfKeys(k.strings, hashes.data(), k.time, v, own), o);
          },
          py::arg("n"), py::arg("index"), py::arg("data"), py::arg("verdict"), py::arg("sender_own"), py::arg("out"),
          "replay() of key strings.")
      .def("compact", [](bl::BaselineStore& s) {
            py::gil_scoped_release release;
            s.Compact();
          })
      .def(
          "save_as",
          [](bl::BaselineStore& s, const std::string& dir) {
            py::gil_scoped_release release;
            s.SaveAs(dir);
          },
          py::arg("dir"))
      .def(
          "put_entries",
          [](bl::BaselineStore& s, int table, py::buffer entries) {
            bl::Table t = ToTable(table);
            py::buffer_info info = entries.request();
            const size_t size = bl::TableEntrySize(t);
            if (info.ndim != 1 || static_cast<size_t>(info.itemsize) != size ||
                (info.shape[0] > 1 && info.strides[0] != info.itemsize)) {
              throw std::invalid_argument("put_entries: table " + std::string(bl::TableToString(t)) +
                                          " needs a contiguous 1-D array of " + std::to_string(size) + "-byte records");
            }
            const void* ptr = info.ptr;
            const int64_t n = info.shape[0];
            py::gil_scoped_release release;
            s.PutEntries(t, ptr, n);
          },
          py::arg("table"), py::arg("entries"))
      .def(
          "entries",
          [](const bl::BaselineStore& s, int table) {
            std::vector<uint8_t> bytes;
            {
              py::gil_scoped_release release;
              bytes = s.Entries(ToTable(table));
            }
            return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
          },
          py::arg("table"))
      .def("stats",
           [](const bl::BaselineStore& s) {
             bl::StoreStats st = s.Stats();
             py::dict tables;
             for (int i = 0; i < bl::kNumTables; ++i) {
               py::dict t;
               t["size"] = st.size[i];
               t["capacity"] = st.capacity[i];
               t["bytes"] = st.bytes[i];
               t["entry_bytes"] = bl::TableEntrySize(static_cast<bl::Table>(i));
               tables[bl::TableToString(static_cast<bl::Table>(i))] = t;
             }
             py::dict d;
             d["tables"] = tables;
             d["applied_seq"] = st.applied_seq;
             d["log_records"] = st.log_records;
             d["log_bytes"] = st.log_bytes;
             d["ignored_torn_bytes"] = st.ignored_torn_bytes;
             d["half_life_seconds"] = s.HalfLifeSeconds();
             return d;
           })
      .def_property_readonly("half_life_seconds", &bl::BaselineStore::HalfLifeSeconds)
      .def_property_readonly("dir", &bl::BaselineStore::Dir);
}
