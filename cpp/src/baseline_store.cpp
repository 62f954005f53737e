// Behavioral baseline store: hash tables, batch lookups, observation, snapshot and log files.
#include "pyscore/baseline_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>

#include "pyscore/error.h"

namespace pyscore {
namespace baseline {

namespace {

constexpr char kSnapMagic[8] = {'P', 'S', 'B', 'S', 'N', 'A', 'P', '1'};
constexpr char kLogMagic[8] = {'P', 'S', 'B', 'L', 'O', 'G', '0', '1'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint32_t kRecordMarker = 0x52425350;  // "PSBR"
constexpr size_t kSnapHeaderBytes = 64;
constexpr size_t kLogHeaderBytes = 24;
constexpr size_t kRecordHeaderBytes = 16;
constexpr const char* kSnapName = "baseline.snap";
constexpr const char* kLogName = "baseline.log";
const float kNaN = std::numeric_limits<float>::quiet_NaN();

std::string Join(const std::string& dir, const char* name) { return dir + "/" + name; }

std::string ErrnoText() { return std::string(std::strerror(errno)); }

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void MakeDirs(const std::string& dir) {
  std::string partial;
  std::stringstream ss(dir);
  std::string part;
  if (!dir.empty() && dir[0] == '/') partial = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    partial += part + "/";
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      throw Error("baseline store: cannot create directory '" + partial + "': " + ErrnoText());
    }
  }
}

void WriteAll(int fd, const uint8_t* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error("baseline store: cannot write '" + path + "': " + ErrnoText());
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
}

void FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) throw Error("baseline store: cannot open directory '" + dir + "': " + ErrnoText());
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error("baseline store: cannot fsync directory '" + dir + "': " + ErrnoText());
}

// Writes path.tmp, fsyncs it, renames it over path and fsyncs the directory.
void WriteFileAtomic(const std::string& dir, const std::string& path, const std::vector<uint8_t>& bytes) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("baseline store: cannot create '" + tmp + "': " + ErrnoText());
  try {
    WriteAll(fd, bytes.data(), bytes.size(), tmp);
    if (::fsync(fd) != 0) throw Error("baseline store: cannot fsync '" + tmp + "': " + ErrnoText());
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw Error("baseline store: cannot rename '" + tmp + "' to '" + path + "': " + ErrnoText());
  }
  FsyncDir(dir);
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("baseline store: cannot open '" + path + "': " + ErrnoText());
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      throw Error("baseline store: cannot read '" + path + "': " + ErrnoText());
    }
    if (r == 0) break;
    out.insert(out.end(), buf, buf + r);
  }
  ::close(fd);
  return out;
}

uint64_t RandomId() {
  std::random_device rd;
  uint64_t id = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return id == 0 ? 1 : id;
}

// Appends raw bytes; readers below consume them in the same order.
class Buffer {
 public:
  template <class T>
  void Put(const T& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void PutArray(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    bytes.insert(bytes.end(), p, p + n);
    while (bytes.size() % 8) bytes.push_back(0);  // keep every array 8-byte aligned
  }
  std::vector<uint8_t> bytes;
};

class Reader {
 public:
  Reader(const uint8_t* data, size_t n, std::string what) : data_(data), n_(n), what_(std::move(what)) {}
  template <class T>
  T Get() {
    Need(sizeof(T));
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  const uint8_t* Array(size_t n) {
    Need(n);
    const uint8_t* p = data_ + pos_;
    pos_ += (n + 7) / 8 * 8;
    if (pos_ > n_) pos_ = n_;
    return p;
  }
  size_t Pos() const { return pos_; }

 private:
  void Need(size_t n) {
    if (pos_ + n > n_) {
      throw Error(what_ + ": truncated (needs " + std::to_string(pos_ + n) + " bytes, has " +
                  std::to_string(n_) + ")");
    }
  }
  const uint8_t* data_;
  size_t n_;
  size_t pos_ = 0;
  std::string what_;
};

int64_t Day(int64_t t) { return t >= 0 ? t / kSecondsPerDay : -((-t + kSecondsPerDay - 1) / kSecondsPerDay); }

double Decay(double half_life, int64_t dt) { return std::exp2(-static_cast<double>(dt) / half_life); }

// One message of an entity (sender, domain, global domain) at time t.
void UpdateEntity(EntityStats& e, int64_t t, uint8_t verdict, double half_life) {
  if (e.messages == 0) {
    e.first_seen = e.last_seen = t;
    e.decayed = 1.0f;
    e.active_days = 1;
  } else {
    if (Day(t) > Day(e.last_seen)) ++e.active_days;
    if (t >= e.last_seen) {
      e.decayed = static_cast<float>(e.decayed * Decay(half_life, t - e.last_seen) + 1.0);
      e.last_seen = t;
    } else {
      e.decayed = static_cast<float>(e.decayed + Decay(half_life, e.last_seen - t));
    }
    if (t < e.first_seen) e.first_seen = t;
  }
  ++e.messages;
  if (verdict == static_cast<uint8_t>(Verdict::kBenign)) ++e.benign;
  if (verdict == static_cast<uint8_t>(Verdict::kMalicious)) ++e.malicious;
  if (verdict == static_cast<uint8_t>(Verdict::kSpam)) ++e.spam;
}

void UpdatePair(PairStats& p, bool inserted, int64_t t, double half_life) {
  if (inserted) {
    p.first_seen = p.last_seen = t;
    p.decayed = 1.0f;
  } else if (t >= p.last_seen) {
    p.decayed = static_cast<float>(p.decayed * Decay(half_life, t - p.last_seen) + 1.0);
    p.last_seen = t;
  } else {
    p.decayed = static_cast<float>(p.decayed + Decay(half_life, p.last_seen - t));
    if (t < p.first_seen) p.first_seen = t;
  }
  ++p.count;
}

// Point in time: an entity is known at t only if it sent something strictly before t.
bool Visible(const EntityStats* e, int64_t t) { return e && e->messages > 0 && e->first_seen < t; }

float Prevalence(const EntityStats* e, int64_t t) {
  if (!Visible(e, t)) return 0.0f;
  return e->messages >= kCommonMessages ? 2.0f : 1.0f;
}

float DaysKnown(const EntityStats* e, int64_t t) {
  return Visible(e, t) ? static_cast<float>(static_cast<double>(t - e->first_seen) / kSecondsPerDay) : 0.0f;
}

float Recent(const EntityStats* e, int64_t t, double half_life) {
  if (!Visible(e, t)) return 0.0f;
  return t >= e->last_seen ? static_cast<float>(e->decayed * Decay(half_life, t - e->last_seen)) : e->decayed;
}

template <class Entry>
void PutTable(HashTable<Entry>& table, const uint8_t* data, int64_t n, const char* what) {
  for (int64_t i = 0; i < n; ++i) {
    Entry e;
    std::memcpy(&e, data + i * sizeof(Entry), sizeof(Entry));
    bool inserted;
    Entry& slot = table.FindOrInsert(e.key, &inserted);
    if (!inserted) {
      std::ostringstream os;
      os << "baseline " << what << ": key " << e.key << " given twice";
      throw std::invalid_argument(os.str());
    }
    e.key = slot.key;
    slot = e;
  }
}

template <class Entry>
void AppendTable(Buffer& buf, Table id, const HashTable<Entry>& table) {
  buf.Put(static_cast<uint32_t>(id));
  buf.Put(static_cast<uint32_t>(sizeof(Entry)));
  buf.Put(static_cast<uint64_t>(table.Size()));
  for (const Entry& e : table.Slots()) {
    if (e.key != 0) buf.Put(e);
  }
}

template <class Entry>
std::vector<uint8_t> CopyEntries(const HashTable<Entry>& table) {
  std::vector<uint8_t> out;
  out.reserve(table.Size() * sizeof(Entry));
  for (const Entry& e : table.Slots()) {
    if (e.key == 0) continue;
    const auto* p = reinterpret_cast<const uint8_t*>(&e);
    out.insert(out.end(), p, p + sizeof(Entry));
  }
  return out;
}

}  // namespace

void HashStrings(const int64_t* offsets, const uint8_t* data, int64_t n_strings, const uint64_t* seeds,
                 const int64_t* rows, int64_t n, bool separator, uint64_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = rows ? rows[i] : i;
    PYSCORE_ARG_CHECK(r >= 0 && r < n_strings, "HashStrings: row " + std::to_string(r) + " out of range");
    PYSCORE_ARG_CHECK(offsets[r] >= 0 && offsets[r] <= offsets[r + 1], "HashStrings: bad offsets at string " + std::to_string(r));
    uint64_t h = seeds[i];
    if (separator) h = FnvStep(h, kKeySeparator);
    for (int64_t k = offsets[r]; k < offsets[r + 1]; ++k) h = FnvStep(h, data[k]);
    out[i] = h;
  }
}

uint64_t Checksum64(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t h = kFnvOffset;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * kFnvPrime;
  }
  if (i < n) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, n - i);
    h = (h ^ w) * kFnvPrime;
  }
  h = (h ^ static_cast<uint64_t>(n)) * kFnvPrime;
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

const char* TableToString(Table t) {
  switch (t) {
    case Table::kSenders: return "senders";
    case Table::kDomains: return "domains";
    case Table::kGlobalDomains: return "global_domains";
    case Table::kPairs: return "pairs";
    case Table::kRecipients: return "recipients";
    case Table::kNames: return "names";
    case Table::kReplyTo: return "reply_to";
  }
  return "?";
}

size_t TableEntrySize(Table t) {
  switch (t) {
    case Table::kSenders:
    case Table::kDomains:
    case Table::kGlobalDomains: return sizeof(EntityStats);
    case Table::kPairs:
    case Table::kReplyTo: return sizeof(PairStats);
    case Table::kRecipients: return sizeof(RecipientStats);
    case Table::kNames: return sizeof(NameStats);
  }
  throw std::invalid_argument("unknown baseline table " + std::to_string(static_cast<uint32_t>(t)));
}

const char* OutputName(int output) {
  static const char* kNames[kNumOutputs] = {
      "sender_prevalence", "sender_days_known", "sender_messages", "sender_recent",
      "sender_active_days", "sender_recipients", "sender_solicited", "sender_malicious",
      "sender_benign", "domain_prevalence", "domain_days_known", "domain_messages",
      "domain_senders", "domain_solicited", "domain_malicious", "domain_tenants",
      "pair_count_min", "pair_count_max", "pair_reverse_max", "pair_known_share",
      "recipient_safe_rate_min", "recipient_first_time_share_max", "recipient_received_min",
      "name_other_address", "name_addresses", "name_sender_known", "reply_to_never_seen"};
  PYSCORE_ARG_CHECK(output >= 0 && output < kNumOutputs, "no baseline output " + std::to_string(output));
  return kNames[output];
}

void EventColumns::Validate(bool for_lookup) const {
  PYSCORE_ARG_CHECK(n_messages >= 0, "baseline events: negative message count");
  PYSCORE_ARG_CHECK(rcpt_offsets && reply_offsets, "baseline events: an offsets column is missing");
  PYSCORE_ARG_CHECK(n_messages == 0 || (time && sender && domain && global_domain && name),
                    "baseline events: a per-message column is missing");
  // Lookups read neither verdicts nor sender_own.
  PYSCORE_ARG_CHECK(for_lookup || n_messages == 0 || (verdict && sender_own),
                    "baseline events: a per-message column is missing");
  PYSCORE_ARG_CHECK(rcpt_offsets[0] == 0 && reply_offsets[0] == 0, "baseline events: offsets must start at 0");
  for (int64_t m = 0; m < n_messages; ++m) {
    PYSCORE_ARG_CHECK(rcpt_offsets[m] <= rcpt_offsets[m + 1], "baseline events: recipient offsets decrease at message " + std::to_string(m));
    PYSCORE_ARG_CHECK(reply_offsets[m] <= reply_offsets[m + 1], "baseline events: reply-to offsets decrease at message " + std::to_string(m));
    PYSCORE_ARG_CHECK(!verdict || verdict[m] <= static_cast<uint8_t>(Verdict::kSpam), "baseline events: verdict code " + std::to_string(verdict[m]) + " at message " + std::to_string(m) + " is not 0-3");
  }
  if (NumRecipients() > 0) {
    PYSCORE_ARG_CHECK(rcpt && rcpt_domain && pair, "baseline events: a per-recipient column is missing");
    PYSCORE_ARG_CHECK(!for_lookup || reverse_pair, "baseline events: reverse_pair is needed for lookups");
  }
  PYSCORE_ARG_CHECK(NumReplyTo() == 0 || reply_pair, "baseline events: reply_pair is missing");
}

void KeyStrings::Validate() const {
  PYSCORE_ARG_CHECK(n_messages >= 0, "baseline key strings: negative message count");
  PYSCORE_ARG_CHECK(offsets && rcpt_offsets && reply_offsets && (data || data_bytes == 0),
                    "baseline key strings: a column is missing");
  PYSCORE_ARG_CHECK(rcpt_offsets[0] == 0 && reply_offsets[0] == 0, "baseline key strings: offsets must start at 0");
  for (int64_t m = 0; m < n_messages; ++m) {
    PYSCORE_ARG_CHECK(rcpt_offsets[m] <= rcpt_offsets[m + 1],
                      "baseline key strings: recipient offsets decrease at message " + std::to_string(m));
    PYSCORE_ARG_CHECK(reply_offsets[m] <= reply_offsets[m + 1],
                      "baseline key strings: reply-to offsets decrease at message " + std::to_string(m));
  }
  const int64_t n_strings = NumStrings();
  PYSCORE_ARG_CHECK(offsets[0] >= 0 && offsets[n_strings] <= data_bytes,
                    "baseline key strings: offsets run past the " + std::to_string(data_bytes) + " bytes of data");
  for (int64_t i = 0; i < n_strings; ++i) {
    PYSCORE_ARG_CHECK(offsets[i] <= offsets[i + 1], "baseline key strings: offsets decrease at string " + std::to_string(i));
  }
}

namespace {

// FNV-1a continued from h over (0x1f if separator) + string i of s.
uint64_t HashString(const KeyStrings& s, int64_t i, uint64_t h, bool separator) {
  if (separator) h = FnvStep(h, kKeySeparator);
  for (int64_t k = s.offsets[i]; k < s.offsets[i + 1]; ++k) h = FnvStep(h, s.data[k]);
  return h;
}

}  // namespace

void HashEventKeys(const KeyStrings& s, uint64_t* keys) {
  const KeyLayout at(s);
  const int64_t n = s.n_messages;
  // String runs of s, in order.
  const int64_t tenant0 = 0, sender0 = n, domain0 = 2 * n, name0 = 3 * n, rcpt0 = 4 * n;
  const int64_t rdomain0 = rcpt0 + at.recipients, reply0 = rdomain0 + at.recipients;
  for (int64_t m = 0; m < n; ++m) {
    const uint64_t tenant = HashString(s, tenant0 + m, kFnvOffset, false);
    const uint64_t sender = HashString(s, sender0 + m, tenant, true);
    keys[at.Sender() + m] = sender;
    keys[at.Domain() + m] = HashString(s, domain0 + m, tenant, true);
    keys[at.GlobalDomain() + m] = HashString(s, domain0 + m, kFnvOffset, false);
    const bool no_name = s.offsets[name0 + m] == s.offsets[name0 + m + 1];
    keys[at.Name() + m] = no_name ? 0 : HashString(s, name0 + m, tenant, true);
    for (int64_t k = s.rcpt_offsets[m]; k < s.rcpt_offsets[m + 1]; ++k) {
      const uint64_t rcpt = HashString(s, rcpt0 + k, tenant, true);
      keys[at.Rcpt() + k] = rcpt;
      keys[at.RcptDomain() + k] = HashString(s, rdomain0 + k, tenant, true);
      keys[at.Pair() + k] = HashString(s, rcpt0 + k, sender, true);
      keys[at.ReversePair() + k] = HashString(s, sender0 + m, rcpt, true);
    }
    for (int64_t k = s.reply_offsets[m]; k < s.reply_offsets[m + 1]; ++k) {
      keys[at.ReplyPair() + k] = HashString(s, reply0 + k, sender, true);
    }
  }
}

EventColumns EventColumnsOfKeys(const KeyStrings& s, const uint64_t* keys, const int64_t* time,
                                const uint8_t* verdict, const uint8_t* sender_own) {
  const KeyLayout at(s);
  EventColumns ev;
  ev.n_messages = s.n_messages;
  ev.time = time;
  ev.sender = keys + at.Sender();
  ev.domain = keys + at.Domain();
  ev.global_domain = keys + at.GlobalDomain();
  ev.name = keys + at.Name();
  ev.verdict = verdict;
  ev.sender_own = sender_own;
  ev.rcpt_offsets = s.rcpt_offsets;
  ev.rcpt = keys + at.Rcpt();
  ev.rcpt_domain = keys + at.RcptDomain();
  ev.pair = keys + at.Pair();
  ev.reverse_pair = keys + at.ReversePair();
  ev.reply_offsets = s.reply_offsets;
  ev.reply_pair = keys + at.ReplyPair();
  return ev;
}

BaselineStore::BaselineStore(double half_life_seconds) : half_life_(half_life_seconds) {
  PYSCORE_ARG_CHECK(half_life_seconds > 0 && std::isfinite(half_life_seconds),
                    "baseline half-life must be a positive number of seconds");
}

BaselineStore::~BaselineStore() {
  if (log_fd_ >= 0) ::close(log_fd_);  // closing releases the writer lock
}

// ---------------------------------------------------------------------------- observe

void BaselineStore::ApplyOne(const EventColumns& ev, int64_t m) {
  const int64_t t = ev.time[m];
  const uint8_t verdict = ev.verdict[m];
  bool inserted;
  EntityStats& sender = senders_.FindOrInsert(ev.sender[m], &inserted);
  // New in the tenant: never sent before, or only at this same instant (point in time).
  const bool sender_new = sender.messages == 0 || sender.first_seen >= t;
  const bool sender_first = sender.messages == 0;
  UpdateEntity(sender, t, verdict, half_life_);

  EntityStats& domain = domains_.FindOrInsert(ev.domain[m], &inserted);
  const bool domain_first = domain.messages == 0;
  if (sender_first) ++domain.distinct;
  UpdateEntity(domain, t, verdict, half_life_);

  EntityStats& global = global_domains_.FindOrInsert(ev.global_domain[m], &inserted);
  if (domain_first) ++global.distinct;
  UpdateEntity(global, t, verdict, half_life_);

  for (int64_t k = ev.rcpt_offsets[m]; k < ev.rcpt_offsets[m + 1]; ++k) {
    PairStats& pair = pairs_.FindOrInsert(ev.pair[k], &inserted);
    UpdatePair(pair, inserted, t, half_life_);
    // Table growth may move entries: look the sender up again rather than keep a reference.
    if (inserted) ++senders_.FindOrInsert(ev.sender[m], &inserted).distinct;

    RecipientStats& r = recipients_.FindOrInsert(ev.rcpt[k], &inserted);
    if (inserted || t < r.first_seen) r.first_seen = t;
    ++r.received;
    if (sender_new) ++r.from_first_time;
    if (verdict == static_cast<uint8_t>(Verdict::kMalicious)) ++r.malicious;
    if (verdict == static_cast<uint8_t>(Verdict::kSpam)) ++r.spam;

    if (ev.sender_own[m]) {
      ++senders_.FindOrInsert(ev.rcpt[k], &inserted).solicited;
      ++domains_.FindOrInsert(ev.rcpt_domain[k], &inserted).solicited;
    }
  }
  for (int64_t k = ev.reply_offsets[m]; k < ev.reply_offsets[m + 1]; ++k) {
    PairStats& p = reply_to_.FindOrInsert(ev.reply_pair[k], &inserted);
    UpdatePair(p, inserted, t, half_life_);
  }
  if (ev.name[m] != 0) {
    NameStats& n = names_.FindOrInsert(ev.name[m], &inserted);
    ++n.messages;
    const uint64_t who = HashTable<EntityStats>::StoredKey(ev.sender[m]);
    bool known = false;
    int used = 0;
    for (; used < kNameSlots && n.addresses[used] != 0; ++used) known |= n.addresses[used] == who;
    if (!known && used < kNameSlots) {  // beyond kNameSlots addresses the set saturates
      n.addresses[used] = who;
      n.distinct = static_cast<uint32_t>(used + 1);
    }
  }
}

void BaselineStore::Observe(const EventColumns& ev) {
  PYSCORE_CHECK(!read_only_, "baseline store '" + dir_ + "' is open read-only");
  ev.Validate(false);
  if (!dir_.empty()) AppendLog(ev);  // acknowledged on disk before it is applied
  for (int64_t m = 0; m < ev.n_messages; ++m) ApplyOne(ev, m);
}

// ---------------------------------------------------------------------------- lookup

void BaselineStore::LookupOne(const EventColumns& ev, int64_t m, float* row) const {
  const int64_t t = ev.time[m];
  const EntityStats* s = senders_.Find(ev.sender[m]);
  const bool s_known = Visible(s, t);
  row[kSenderPrevalence] = Prevalence(s, t);
  row[kSenderDaysKnown] = DaysKnown(s, t);
  row[kSenderMessages] = s_known ? static_cast<float>(s->messages) : 0.0f;
  row[kSenderRecent] = Recent(s, t, half_life_);
  row[kSenderActiveDays] = s_known ? static_cast<float>(s->active_days) : 0.0f;
  row[kSenderRecipients] = s_known ? static_cast<float>(s->distinct) : 0.0f;
  row[kSenderSolicited] = s ? static_cast<float>(s->solicited) : 0.0f;
  row[kSenderMalicious] = s_known ? static_cast<float>(s->malicious) : 0.0f;
  row[kSenderBenign] = s_known ? static_cast<float>(s->benign) : 0.0f;

  const EntityStats* d = domains_.Find(ev.domain[m]);
  const bool d_known = Visible(d, t);
  row[kDomainPrevalence] = Prevalence(d, t);
  row[kDomainDaysKnown] = DaysKnown(d, t);
  row[kDomainMessages] = d_known ? static_cast<float>(d->messages) : 0.0f;
  row[kDomainSenders] = d_known ? static_cast<float>(d->distinct) : 0.0f;
  row[kDomainSolicited] = d ? static_cast<float>(d->solicited) : 0.0f;
  row[kDomainMalicious] = d_known ? static_cast<float>(d->malicious) : 0.0f;
  const EntityStats* g = global_domains_.Find(ev.global_domain[m]);
  row[kDomainTenants] = Visible(g, t) ? static_cast<float>(g->distinct) : 0.0f;

  const int64_t r0 = ev.rcpt_offsets[m], r1 = ev.rcpt_offsets[m + 1];
  if (r1 == r0) {
    for (int o = kPairCountMin; o <= kRecipientReceivedMin; ++o) row[o] = kNaN;
  } else {
    double count_min = std::numeric_limits<double>::infinity(), count_max = 0, reverse_max = 0;
    double known = 0, safe_min = kNaN, first_max = kNaN, received_min = std::numeric_limits<double>::infinity();
    for (int64_t k = r0; k < r1; ++k) {
      const PairStats* p = pairs_.Find(ev.pair[k]);
      double c = (p && p->first_seen < t) ? p->count : 0;
      count_min = std::min(count_min, c);
      count_max = std::max(count_max, c);
      known += c > 0;
      const PairStats* q = pairs_.Find(ev.reverse_pair[k]);
      if (q && q->first_seen < t) reverse_max = std::max(reverse_max, static_cast<double>(q->count));
      const RecipientStats* r = recipients_.Find(ev.rcpt[k]);
      double received = (r && r->first_seen < t) ? r->received : 0;
      received_min = std::min(received_min, received);
      if (received > 0) {
        double safe = (received - r->malicious - r->spam) / received;
        double first = r->from_first_time / received;
        safe_min = std::isnan(safe_min) ? safe : std::min(safe_min, safe);
        first_max = std::isnan(first_max) ? first : std::max(first_max, first);
      }
    }
    row[kPairCountMin] = static_cast<float>(count_min);
    row[kPairCountMax] = static_cast<float>(count_max);
    row[kPairReverseMax] = static_cast<float>(reverse_max);
    row[kPairKnownShare] = static_cast<float>(known / static_cast<double>(r1 - r0));
    row[kRecipientSafeRateMin] = static_cast<float>(safe_min);
    row[kRecipientFirstTimeShareMax] = static_cast<float>(first_max);
    row[kRecipientReceivedMin] = static_cast<float>(received_min);
  }

  if (ev.name[m] == 0) {
    row[kNameOtherAddress] = row[kNameAddresses] = row[kNameSenderKnown] = kNaN;
  } else {
    const NameStats* n = names_.Find(ev.name[m]);
    const uint64_t who = HashTable<EntityStats>::StoredKey(ev.sender[m]);
    bool in = false;
    if (n) {
      for (int i = 0; i < kNameSlots; ++i) in |= n->addresses[i] == who;
    }
    // A name only seen at t or later belongs to the future; its set has no times, so
    // a name is visible when any of its addresses is a sender visible at t.
    bool visible = false;
    if (n) {
      for (int i = 0; i < kNameSlots && n->addresses[i] != 0 && !visible; ++i) {
        visible = Visible(senders_.Find(n->addresses[i]), t);
      }
    }
    in = in && s_known;
    row[kNameSenderKnown] = in ? 1.0f : 0.0f;
    row[kNameAddresses] = visible ? static_cast<float>(n->distinct) : 0.0f;
    row[kNameOtherAddress] = (visible && !in) ? 1.0f : 0.0f;
  }

  float never_seen = 0.0f;
  for (int64_t k = ev.reply_offsets[m]; k < ev.reply_offsets[m + 1]; ++k) {
    const PairStats* p = reply_to_.Find(ev.reply_pair[k]);
    if (!(p && p->first_seen < t)) never_seen = 1.0f;
  }
  row[kReplyToNeverSeen] = never_seen;
}

void BaselineStore::Lookup(const EventColumns& ev, float* out, int64_t row_stride) const {
  PYSCORE_ARG_CHECK(row_stride >= kNumOutputs, "baseline lookup: output rows are shorter than the outputs");
  ev.Validate(true);
  for (int64_t m = 0; m < ev.n_messages; ++m) LookupOne(ev, m, out + m * row_stride);
}

void BaselineStore::Replay(const EventColumns& ev, float* out) {
  PYSCORE_CHECK(!read_only_, "baseline store '" + dir_ + "' is open read-only");
  ev.Validate(true);
  PYSCORE_ARG_CHECK(ev.n_messages == 0 || (ev.verdict && ev.sender_own), "baseline replay: verdict and sender_own are needed");
  for (int64_t m = 1; m < ev.n_messages; ++m) {
    PYSCORE_ARG_CHECK(ev.time[m - 1] <= ev.time[m],
                      "baseline replay: times must be sorted ascending (row " + std::to_string(m) + ")");
  }
  if (!dir_.empty()) AppendLog(ev);
  // Rows with equal times form one group: all are looked up before any is observed,
  // so no message sees another from its own instant.
  int64_t start = 0;
  while (start < ev.n_messages) {
    int64_t stop = start + 1;
    while (stop < ev.n_messages && ev.time[stop] == ev.time[start]) ++stop;
    for (int64_t m = start; m < stop; ++m) LookupOne(ev, m, out + m * kNumOutputs);
    for (int64_t m = start; m < stop; ++m) ApplyOne(ev, m);
    start = stop;
  }
}

// ---------------------------------------------------------------------------- bulk access

void BaselineStore::PutEntries(Table table, const void* entries, int64_t n) {
  PYSCORE_ARG_CHECK(n >= 0, "PutEntries: negative count");
  const auto* data = static_cast<const uint8_t*>(entries);
  switch (table) {
    case Table::kSenders: PutTable(senders_, data, n, "senders"); break;
    case Table::kDomains: PutTable(domains_, data, n, "domains"); break;
    case Table::kGlobalDomains: PutTable(global_domains_, data, n, "global_domains"); break;
    case Table::kPairs: PutTable(pairs_, data, n, "pairs"); break;
    case Table::kRecipients: PutTable(recipients_, data, n, "recipients"); break;
    case Table::kNames: PutTable(names_, data, n, "names"); break;
    case Table::kReplyTo: PutTable(reply_to_, data, n, "reply_to"); break;
    default: throw std::invalid_argument("unknown baseline table");
  }
}

std::vector<uint8_t> BaselineStore::Entries(Table table) const {
  switch (table) {
    case Table::kSenders: return CopyEntries(senders_);
    case Table::kDomains: return CopyEntries(domains_);
    case Table::kGlobalDomains: return CopyEntries(global_domains_);
    case Table::kPairs: return CopyEntries(pairs_);
    case Table::kRecipients: return CopyEntries(recipients_);
    case Table::kNames: return CopyEntries(names_);
    case Table::kReplyTo: return CopyEntries(reply_to_);
  }
  throw std::invalid_argument("unknown baseline table");
}

StoreStats BaselineStore::Stats() const {
  StoreStats s{};
  auto fill = [&s](Table t, size_t size, size_t cap, size_t bytes) {
    s.size[static_cast<int>(t)] = size;
    s.capacity[static_cast<int>(t)] = cap;
    s.bytes[static_cast<int>(t)] = bytes;
  };
  fill(Table::kSenders, senders_.Size(), senders_.Capacity(), senders_.Bytes());
  fill(Table::kDomains, domains_.Size(), domains_.Capacity(), domains_.Bytes());
  fill(Table::kGlobalDomains, global_domains_.Size(), global_domains_.Capacity(), global_domains_.Bytes());
  fill(Table::kPairs, pairs_.Size(), pairs_.Capacity(), pairs_.Bytes());
  fill(Table::kRecipients, recipients_.Size(), recipients_.Capacity(), recipients_.Bytes());
  fill(Table::kNames, names_.Size(), names_.Capacity(), names_.Bytes());
  fill(Table::kReplyTo, reply_to_.Size(), reply_to_.Capacity(), reply_to_.Bytes());
  s.applied_seq = applied_seq_;
  s.log_records = log_records_;
  s.log_bytes = log_bytes_;
  s.ignored_torn_bytes = ignored_torn_bytes_;
  return s;
}

// ---------------------------------------------------------------------------- files

// Snapshot: 64-byte header {magic, version, n_tables, store_id, applied_seq,
// half_life, body bytes, 16 reserved}, then per table {id u32, entry size u32,
// count u64, entries}, then Checksum64 of everything before it.
void BaselineStore::WriteSnapshot(const std::string& path, uint64_t applied_seq, uint64_t store_id) const {
  Buffer body;
  AppendTable(body, Table::kSenders, senders_);
  AppendTable(body, Table::kDomains, domains_);
  AppendTable(body, Table::kGlobalDomains, global_domains_);
  AppendTable(body, Table::kPairs, pairs_);
  AppendTable(body, Table::kRecipients, recipients_);
  AppendTable(body, Table::kNames, names_);
  AppendTable(body, Table::kReplyTo, reply_to_);
  Buffer out;
  out.bytes.reserve(kSnapHeaderBytes + body.bytes.size() + 8);
  out.bytes.insert(out.bytes.end(), kSnapMagic, kSnapMagic + 8);
  out.Put(kFormatVersion);
  out.Put(static_cast<uint32_t>(kNumTables));
  out.Put(store_id);
  out.Put(applied_seq);
  out.Put(half_life_);
  out.Put(static_cast<uint64_t>(body.bytes.size()));
  out.Put(uint64_t{0});
  out.Put(uint64_t{0});
  out.bytes.insert(out.bytes.end(), body.bytes.begin(), body.bytes.end());
  out.Put(Checksum64(out.bytes.data(), out.bytes.size()));
  std::string dir = path.substr(0, path.find_last_of('/'));
  WriteFileAtomic(dir, path, out.bytes);
}

void BaselineStore::LoadSnapshot(const std::string& path) {
  std::vector<uint8_t> bytes = ReadFile(path);
  const std::string what = "baseline snapshot '" + path + "'";
  if (bytes.size() < kSnapHeaderBytes + 8) {
    throw Error(what + ": truncated (" + std::to_string(bytes.size()) + " bytes, a snapshot has at least " +
                std::to_string(kSnapHeaderBytes + 8) + ")");
  }
  if (std::memcmp(bytes.data(), kSnapMagic, 8) != 0) throw Error(what + ": not a baseline snapshot (bad magic)");
  Reader header(bytes.data() + 8, kSnapHeaderBytes - 8, what);
  uint32_t version = header.Get<uint32_t>();
  if (version != kFormatVersion) {
    throw Error(what + ": format version " + std::to_string(version) + " is not supported (expected " +
                std::to_string(kFormatVersion) + ")");
  }
  uint32_t n_tables = header.Get<uint32_t>();
  uint64_t store_id = header.Get<uint64_t>();
  uint64_t applied_seq = header.Get<uint64_t>();
  double half_life = header.Get<double>();
  uint64_t body_bytes = header.Get<uint64_t>();
  if (kSnapHeaderBytes + body_bytes + 8 != bytes.size()) {
    throw Error(what + ": truncated or padded (header declares " + std::to_string(kSnapHeaderBytes + body_bytes + 8) +
                " bytes, file has " + std::to_string(bytes.size()) + ")");
  }
  uint64_t stored, computed = Checksum64(bytes.data(), bytes.size() - 8);
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  if (stored != computed) {
    std::ostringstream os;
    os << what << ": checksum mismatch (stored " << std::hex << stored << ", computed " << computed
       << "): the file is corrupt";
    throw Error(os.str());
  }
  if (n_tables != kNumTables || !(half_life > 0)) throw Error(what + ": inconsistent header");
  Reader body(bytes.data() + kSnapHeaderBytes, body_bytes, what);
  for (int i = 0; i < kNumTables; ++i) {
    uint32_t id = body.Get<uint32_t>();
    uint32_t entry_size = body.Get<uint32_t>();
    uint64_t count = body.Get<uint64_t>();
    if (id != static_cast<uint32_t>(i) || entry_size != TableEntrySize(static_cast<Table>(i))) {
      throw Error(what + ": table " + std::to_string(i) + " has a bad id or entry size");
    }
    if (count > body_bytes / entry_size) throw Error(what + ": table " + std::to_string(i) + " count is too large");
    const uint8_t* data = body.Array(count * entry_size);
    try {
      PutEntries(static_cast<Table>(i), data, static_cast<int64_t>(count));
    } catch (const std::invalid_argument& e) {
      throw Error(what + ": " + e.what());
    }
  }
  half_life_ = half_life;
  store_id_ = store_id;
  applied_seq_ = applied_seq;
}

void BaselineStore::WriteEmptyLog(const std::string& path, uint64_t store_id) const {
  Buffer out;
  out.bytes.insert(out.bytes.end(), kLogMagic, kLogMagic + 8);
  out.Put(kFormatVersion);
  out.Put(uint32_t{0});
  out.Put(store_id);
  std::string dir = path.substr(0, path.find_last_of('/'));
  WriteFileAtomic(dir, path, out.bytes);
}

// Log record: {payload bytes u32, marker u32, Checksum64(payload) u64} then the payload:
// seq, n_messages, n_recipients, n_reply_to (u64 each), then the observe columns, each 8-byte aligned.
void BaselineStore::AppendLog(const EventColumns& ev) {
  PYSCORE_CHECK(log_fd_ >= 0, "baseline store '" + dir_ + "' has no open log");
  const size_t n = static_cast<size_t>(ev.n_messages), nr = static_cast<size_t>(ev.NumRecipients()),
               np = static_cast<size_t>(ev.NumReplyTo());
  Buffer payload;
  payload.Put(applied_seq_ + 1);
  payload.Put(static_cast<uint64_t>(n));
  payload.Put(static_cast<uint64_t>(nr));
  payload.Put(static_cast<uint64_t>(np));
  payload.PutArray(ev.time, n * 8);
  payload.PutArray(ev.sender, n * 8);
  payload.PutArray(ev.domain, n * 8);
  payload.PutArray(ev.global_domain, n * 8);
  payload.PutArray(ev.name, n * 8);
  payload.PutArray(ev.verdict, n);
  payload.PutArray(ev.sender_own, n);
  payload.PutArray(ev.rcpt_offsets, (n + 1) * 8);
  if (nr) {
    payload.PutArray(ev.rcpt, nr * 8);
    payload.PutArray(ev.rcpt_domain, nr * 8);
    payload.PutArray(ev.pair, nr * 8);
  }
  payload.PutArray(ev.reply_offsets, (n + 1) * 8);
  if (np) payload.PutArray(ev.reply_pair, np * 8);
  PYSCORE_ARG_CHECK(payload.bytes.size() < (1ULL << 31), "baseline observe: batch too large for one log record");
  Buffer record;
  record.Put(static_cast<uint32_t>(payload.bytes.size()));
  record.Put(kRecordMarker);
  record.Put(Checksum64(payload.bytes.data(), payload.bytes.size()));
  record.bytes.insert(record.bytes.end(), payload.bytes.begin(), payload.bytes.end());

  const std::string path = Join(dir_, kLogName);
  off_t before = ::lseek(log_fd_, 0, SEEK_END);
  try {
    WriteAll(log_fd_, record.bytes.data(), record.bytes.size(), path);
    if (sync_ && ::fdatasync(log_fd_) != 0) throw Error("baseline store: cannot fdatasync '" + path + "': " + ErrnoText());
  } catch (...) {
    // Not acknowledged: cut the partial record off so the log stays well-formed.
    if (before >= 0 && ::ftruncate(log_fd_, before) == 0) (void)::fdatasync(log_fd_);
    throw;
  }
  ++applied_seq_;
  ++log_records_;
  log_bytes_ += record.bytes.size();
}

void BaselineStore::ReplayLog(const std::string& path, bool writable) {
  std::vector<uint8_t> bytes = ReadFile(path);
  const std::string what = "baseline log '" + path + "'";
  if (bytes.size() < kLogHeaderBytes || std::memcmp(bytes.data(), kLogMagic, 8) != 0) {
    throw Error(what + ": not a baseline log (bad or truncated header)");
  }
  Reader header(bytes.data() + 8, kLogHeaderBytes - 8, what);
  uint32_t version = header.Get<uint32_t>();
  header.Get<uint32_t>();
  uint64_t store_id = header.Get<uint64_t>();
  if (version != kFormatVersion) throw Error(what + ": format version " + std::to_string(version) + " is not supported");
  if (store_id != store_id_) {
    if (bytes.size() == kLogHeaderBytes) {  // an empty log of a replaced store: harmless
      if (writable) WriteEmptyLog(path, store_id_);
      return;
    }
    throw Error(what + ": belongs to another snapshot than '" + Join(dir_, kSnapName) +
                "' (store ids differ); the store was replaced while this log held updates");
  }
  size_t pos = kLogHeaderBytes;
  uint64_t last_seq = 0;
  while (pos < bytes.size()) {
    const size_t remaining = bytes.size() - pos;
    uint32_t len = 0, marker = 0;
    uint64_t checksum = 0;
    bool torn = remaining < kRecordHeaderBytes;
    if (!torn) {
      std::memcpy(&len, bytes.data() + pos, 4);
      std::memcpy(&marker, bytes.data() + pos + 4, 4);
      std::memcpy(&checksum, bytes.data() + pos + 8, 8);
      torn = kRecordHeaderBytes + static_cast<size_t>(len) > remaining;
    }
    bool bad = !torn && (marker != kRecordMarker || len < 32 ||
                         Checksum64(bytes.data() + pos + kRecordHeaderBytes, len) != checksum);
    if (torn || bad) {
      const size_t end = torn ? bytes.size() : pos + kRecordHeaderBytes + len;
      bool zeros_after = true;  // a tail of zeros is a torn write the file system padded
      for (size_t i = pos; i < bytes.size() && zeros_after; ++i) zeros_after = bytes[i] == 0;
      if (end < bytes.size() && !zeros_after) {
        throw Error(what + ": record at byte " + std::to_string(pos) +
                    " is corrupt (checksum mismatch) and is followed by " + std::to_string(bytes.size() - end) +
                    " more bytes; the log is damaged, not torn");
      }
      ignored_torn_bytes_ = bytes.size() - pos;
      if (writable) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(pos)) != 0 || ::fsync(fd) != 0) {
          if (fd >= 0) ::close(fd);
          throw Error(what + ": cannot cut off the torn last record: " + ErrnoText());
        }
        ::close(fd);
      }
      break;
    }
    const uint8_t* p = bytes.data() + pos + kRecordHeaderBytes;
    Reader r(p, len, what + " record at byte " + std::to_string(pos));
    uint64_t seq = r.Get<uint64_t>();
    if (seq <= last_seq) throw Error(what + ": record at byte " + std::to_string(pos) + " has sequence number out of order");
    last_seq = seq;
    EventColumns ev;
    const uint64_t n = r.Get<uint64_t>(), nr = r.Get<uint64_t>(), np = r.Get<uint64_t>();
    if (n > len || nr > len || np > len) throw Error(what + ": record at byte " + std::to_string(pos) + " has bad sizes");
    ev.n_messages = static_cast<int64_t>(n);
    ev.time = reinterpret_cast<const int64_t*>(r.Array(n * 8));
    ev.sender = reinterpret_cast<const uint64_t*>(r.Array(n * 8));
    ev.domain = reinterpret_cast<const uint64_t*>(r.Array(n * 8));
    ev.global_domain = reinterpret_cast<const uint64_t*>(r.Array(n * 8));
    ev.name = reinterpret_cast<const uint64_t*>(r.Array(n * 8));
    ev.verdict = r.Array(n);
    ev.sender_own = r.Array(n);
    ev.rcpt_offsets = reinterpret_cast<const int64_t*>(r.Array((n + 1) * 8));
    if (nr) {
      ev.rcpt = reinterpret_cast<const uint64_t*>(r.Array(nr * 8));
      ev.rcpt_domain = reinterpret_cast<const uint64_t*>(r.Array(nr * 8));
      ev.pair = reinterpret_cast<const uint64_t*>(r.Array(nr * 8));
    }
    ev.reply_offsets = reinterpret_cast<const int64_t*>(r.Array((n + 1) * 8));
    if (np) ev.reply_pair = reinterpret_cast<const uint64_t*>(r.Array(np * 8));
    try {
      ev.Validate(false);
      PYSCORE_ARG_CHECK(static_cast<uint64_t>(ev.NumRecipients()) == nr && static_cast<uint64_t>(ev.NumReplyTo()) == np,
                        "offsets disagree with sizes");
    } catch (const std::invalid_argument& e) {
      throw Error(what + ": record at byte " + std::to_string(pos) + " is inconsistent: " + e.what());
    }
    if (seq > applied_seq_) {
      for (int64_t m = 0; m < ev.n_messages; ++m) ApplyOne(ev, m);
      applied_seq_ = seq;
    }
    ++log_records_;
    pos += kRecordHeaderBytes + len;
  }
  log_bytes_ = pos - kLogHeaderBytes;
}

std::unique_ptr<BaselineStore> BaselineStore::Open(const std::string& dir, bool create, bool read_only,
                                                   double half_life_seconds, bool sync) {
  PYSCORE_ARG_CHECK(!dir.empty(), "baseline store: empty directory name");
  auto store = std::make_unique<BaselineStore>(half_life_seconds);
  store->dir_ = dir;
  store->read_only_ = read_only;
  store->sync_ = sync;
  const std::string snap = Join(dir, kSnapName), log = Join(dir, kLogName);
  if (!Exists(snap)) {
    if (Exists(log)) throw Error("baseline store '" + dir + "': log present but snapshot '" + snap + "' is missing");
    if (!create || read_only) throw Error("baseline store '" + dir + "': no snapshot '" + snap + "'");
    MakeDirs(dir);
    store->store_id_ = RandomId();
    store->WriteSnapshot(snap, 0, store->store_id_);
    store->WriteEmptyLog(log, store->store_id_);
  } else {
    store->LoadSnapshot(snap);
  }
  if (!Exists(log)) {
    if (!read_only) store->WriteEmptyLog(log, store->store_id_);
  } else {
    store->ReplayLog(log, !read_only);
  }
  if (!read_only) {
    store->log_fd_ = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (store->log_fd_ < 0) throw Error("baseline store: cannot open '" + log + "' for appending: " + ErrnoText());
    if (::flock(store->log_fd_, LOCK_EX | LOCK_NB) != 0) {
      throw Error("baseline store '" + dir + "' is open for writing by another process");
    }
  }
  return store;
}

void BaselineStore::Compact() {
  PYSCORE_CHECK(!dir_.empty() && !read_only_, "Compact needs a store opened for writing on a directory");
  WriteSnapshot(Join(dir_, kSnapName), applied_seq_, store_id_);
  // A crash here leaves the old records in the log; their sequence numbers are
  // at most the snapshot's, so the next Open skips them.
  const std::string log = Join(dir_, kLogName);
  if (::ftruncate(log_fd_, static_cast<off_t>(kLogHeaderBytes)) != 0 || ::fdatasync(log_fd_) != 0) {
    throw Error("baseline store: cannot truncate '" + log + "': " + ErrnoText());
  }
  log_records_ = 0;
  log_bytes_ = 0;
}

void BaselineStore::SaveAs(const std::string& dir) {
  PYSCORE_ARG_CHECK(dir_.empty(), "SaveAs is for in-memory stores; use Compact on '" + dir_ + "'");
  MakeDirs(dir);
  const std::string log = Join(dir, kLogName);
  int fd = ::open(log.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    bool locked = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
    ::close(fd);
    if (locked) throw Error("baseline store '" + dir + "' is open for writing by another process");
  }
  const uint64_t id = RandomId();
  // Snapshot first: a crash before the log is replaced leaves a log whose id
  // differs, which Open reports instead of replaying it onto the new snapshot.
  WriteSnapshot(Join(dir, kSnapName), 0, id);
  WriteEmptyLog(log, id);
}

}  // namespace baseline
}  // namespace pyscore
