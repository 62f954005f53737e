// Behavioral baseline store: per-tenant history of senders, domains, pairs,
// recipients, display names and reply-to addresses, kept in open-addressing
// hash tables keyed by 64-bit hashes, served in batches, updated online.
//
// The core knows nothing about email: it sees columns of 64-bit keys that the
// caller hashed (FNV-1a 64 over the UTF-8 bytes of "tenant\x1fkey...", see
// HashStrings) plus times and small codes. Semantics of every counter and of
// the decay are documented at the structs below and in docs/architecture.md.
//
// Durability (a store opened on a directory):
//   DIR/baseline.snap  a snapshot: header, tables, 64-bit checksum trailer;
//   DIR/baseline.log   every Observe() appends one checksummed record and is
//                      acknowledged (returns) only after write + fdatasync.
// Open() loads the snapshot and replays the log records with a sequence number
// above the snapshot's. A torn last record (a crash mid-append: it was never
// acknowledged) is ignored and cut off; a corrupt snapshot or a corrupt record
// followed by more data raises pyscore::Error naming the file and byte offset.
// Compact() writes a new snapshot atomically (temp file, fsync, rename, fsync
// of the directory) and then truncates the log.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace pyscore {
namespace baseline {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "baseline files are little-endian");

constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;
constexpr uint8_t kKeySeparator = 0x1f;  // ASCII unit separator between key parts
constexpr int64_t kSecondsPerDay = 86400;
constexpr uint32_t kCommonMessages = 5;  // prevalence: 0 new, 1 rare (1-4 messages), 2 common (>= 5)
constexpr int kNameSlots = 6;        // addresses remembered per display name

inline uint64_t FnvStep(uint64_t state, uint8_t byte) { return (state ^ byte) * kFnvPrime; }

// out[i] = FNV-1a 64 continued from seeds[i] over (separator byte if
// `separator`) + string rows[i] (or i when rows is null) of the column
// (offsets, data). Chaining calls hashes "a\x1fb\x1fc" part by part.
void HashStrings(const int64_t* offsets, const uint8_t* data, int64_t n_strings, const uint64_t* seeds,
                 const int64_t* rows, int64_t n, bool separator, uint64_t* out);

// Checksum of files and log records: FNV-1a 64 over little-endian 8-byte
// words (the tail zero-padded), then the byte length, then a splitmix64 finaliser.
uint64_t Checksum64(const void* data, size_t n);

enum class Verdict : uint8_t { kUnknown = 0, kBenign = 1, kMalicious = 2, kSpam = 3 };

// Counts of everything an address or domain sent, in any direction.
// messages == 0 means the entity never sent (it may still be solicited); first/last are 0 then.
// decayed: sum over its messages of 2^-((last_seen - t_msg) / half_life), i.e. the
// exponentially decayed message count as of last_seen (read at time t: decayed * 2^-((t - last_seen)/H)).
struct EntityStats {
  uint64_t key;
  int64_t first_seen;
  int64_t last_seen;
  float decayed;
  uint32_t messages;
  uint32_t active_days;  // distinct UTC days with a message (exact for time-ordered input)
  uint32_t distinct;     // sender: distinct recipients; domain: distinct senders; global domain: tenants
  uint32_t solicited;    // messages from the tenant's own members to this address / domain
  uint32_t benign;
  uint32_t malicious;
  uint32_t spam;
};
static_assert(sizeof(EntityStats) == 56, "EntityStats layout is part of the snapshot format");

// A directed pair (sender -> recipient), or a (sender, reply-to address) seen together.
struct PairStats {
  uint64_t key;
  int64_t first_seen;
  int64_t last_seen;
  float decayed;
  uint32_t count;
};
static_assert(sizeof(PairStats) == 32, "PairStats layout is part of the snapshot format");

// Everything an address received. Safe = received - malicious - spam
// (a delivered message without a bad verdict counts as safe).
struct RecipientStats {
  uint64_t key;
  int64_t first_seen;
  uint32_t received;
  uint32_t from_first_time;  // received from a sender seen for the first time in the tenant
  uint32_t malicious;
  uint32_t spam;
};
static_assert(sizeof(RecipientStats) == 32, "RecipientStats layout is part of the snapshot format");

// A normalised display name -> the first kNameSlots sender keys seen with it.
struct NameStats {
  uint64_t key;
  uint32_t messages;
  uint32_t distinct;  // distinct sender addresses, saturating at kNameSlots (the remembered ones)
  uint64_t addresses[kNameSlots];
};
static_assert(sizeof(NameStats) == 64, "NameStats layout is part of the snapshot format");

enum class Table : uint32_t {
  kSenders = 0,
  kDomains = 1,
  kGlobalDomains = 2,
  kPairs = 3,
  kRecipients = 4,
  kNames = 5,
  kReplyTo = 6,
};
constexpr int kNumTables = 7;
const char* TableToString(Table t);
size_t TableEntrySize(Table t);

// Open addressing with linear probing; key 0 marks an empty slot, so stored
// keys are remapped 0 -> 1 (StoredKey). Grows x2 above 70% load.
template <class Entry>
class HashTable {
 public:
  HashTable() { Reset(16); }
  const Entry* Find(uint64_t key) const {
    key = StoredKey(key);
    for (uint64_t i = Slot(key);; i = (i + 1) & mask_) {
      const Entry& e = slots_[i];
      if (e.key == key) return &e;
      if (e.key == 0) return nullptr;
    }
  }
  // The entry for key, zero-initialised (apart from the key) when new.
  Entry& FindOrInsert(uint64_t key, bool* inserted) {
    key = StoredKey(key);
    if ((size_ + 1) * 10 > slots_.size() * 7) Grow();
    for (uint64_t i = Slot(key);; i = (i + 1) & mask_) {
      Entry& e = slots_[i];
      if (e.key == key) {
        *inserted = false;
        return e;
      }
      if (e.key == 0) {
        std::memset(&e, 0, sizeof(Entry));
        e.key = key;
        ++size_;
        *inserted = true;
        return e;
      }
    }
  }
  size_t Size() const { return size_; }
  size_t Capacity() const { return slots_.size(); }
  size_t Bytes() const { return slots_.size() * sizeof(Entry); }
  const std::vector<Entry>& Slots() const { return slots_; }
  void Clear() { Reset(16); }
  static uint64_t StoredKey(uint64_t key) { return key == 0 ? 1 : key; }

 private:
  static uint64_t Mix(uint64_t x) {  // splitmix64 finaliser: FNV's low bits alone cluster
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  uint64_t Slot(uint64_t key) const { return Mix(key) & mask_; }
  void Reset(size_t capacity) {
    slots_.assign(capacity, Entry{});
    mask_ = capacity - 1;
    size_ = 0;
  }
  void Grow() {
    std::vector<Entry> old;
    old.swap(slots_);
    Reset(old.size() * 2);
    for (const Entry& e : old) {
      if (e.key == 0) continue;
      for (uint64_t i = Slot(e.key);; i = (i + 1) & mask_) {
        if (slots_[i].key == 0) {
          slots_[i] = e;
          break;
        }
      }
      ++size_;
    }
  }
  std::vector<Entry> slots_;
  uint64_t mask_ = 0;
  size_t size_ = 0;
};

// A batch of messages as columns of caller-computed hashes.
// Per message (n_messages): time (epoch seconds), sender = H(tenant, address),
// domain = H(tenant, root domain), global_domain = H(root domain),
// name = H(tenant, normalised display name) or 0 for none, verdict (Verdict),
// sender_own (1 when the sender belongs to the tenant's organisation).
// Per recipient (rcpt_offsets[m]..rcpt_offsets[m+1], distinct within a message):
// rcpt = H(tenant, recipient address), rcpt_domain = H(tenant, its root domain),
// pair = H(tenant, sender, recipient), reverse_pair = H(tenant, recipient, sender)
// (read by lookups only; may be null for Observe).
// Per reply-to address other than the sender (reply_offsets): reply_pair = H(tenant, sender, reply-to).
struct EventColumns {
  int64_t n_messages = 0;
  const int64_t* time = nullptr;
  const uint64_t* sender = nullptr;
  const uint64_t* domain = nullptr;
  const uint64_t* global_domain = nullptr;
  const uint64_t* name = nullptr;
  const uint8_t* verdict = nullptr;
  const uint8_t* sender_own = nullptr;
  const int64_t* rcpt_offsets = nullptr;
  const uint64_t* rcpt = nullptr;
  const uint64_t* rcpt_domain = nullptr;
  const uint64_t* pair = nullptr;
  const uint64_t* reverse_pair = nullptr;
  const int64_t* reply_offsets = nullptr;
  const uint64_t* reply_pair = nullptr;
  int64_t NumRecipients() const { return n_messages ? rcpt_offsets[n_messages] : 0; }
  int64_t NumReplyTo() const { return n_messages ? reply_offsets[n_messages] : 0; }
  // Throws std::invalid_argument on missing arrays, bad offsets or verdict codes.
  void Validate(bool for_lookup) const;
};

// The key strings of a batch of messages in one UTF-8 column (offsets, data), in runs:
// tenant, sender address, sender root domain and name key ("" for none), n_messages
// strings each; the recipients' addresses, then their root domains (rcpt_offsets[n]
// strings each, distinct within a message); the reply-to addresses (reply_offsets[n]).
// HashEventKeys turns them into EventColumns' keys in one pass.
struct KeyStrings {
  int64_t n_messages = 0;
  const int64_t* offsets = nullptr;  // NumStrings() + 1 values
  const uint8_t* data = nullptr;
  int64_t data_bytes = 0;
  const int64_t* rcpt_offsets = nullptr;  // n_messages + 1
  const int64_t* reply_offsets = nullptr;  // n_messages + 1
  int64_t NumRecipients() const { return rcpt_offsets[n_messages]; }
  int64_t NumReplyTo() const { return reply_offsets[n_messages]; }
  int64_t NumStrings() const { return 4 * n_messages + 2 * NumRecipients() + NumReplyTo(); }
  // Throws std::invalid_argument on decreasing or out-of-range offsets.
  void Validate() const;
};

// Where each key column sits in the buffer HashEventKeys fills: sender, domain,
// global_domain, name (n values each), rcpt, rcpt_domain, pair, reverse_pair
// (per recipient) and reply_pair (per reply-to address).
struct KeyLayout {
  int64_t n, recipients, reply_to;
  explicit KeyLayout(const KeyStrings& s) : n(s.n_messages), recipients(s.NumRecipients()), reply_to(s.NumReplyTo()) {}
  int64_t Sender() const { return 0; }
  int64_t Domain() const { return n; }
  int64_t GlobalDomain() const { return 2 * n; }
  int64_t Name() const { return 3 * n; }
  int64_t Rcpt() const { return 4 * n; }
  int64_t RcptDomain() const { return 4 * n + recipients; }
  int64_t Pair() const { return 4 * n + 2 * recipients; }
  int64_t ReversePair() const { return 4 * n + 3 * recipients; }
  int64_t ReplyPair() const { return 4 * n + 4 * recipients; }
  int64_t Size() const { return 4 * n + 4 * recipients + reply_to; }
};

// Fills keys[KeyLayout(s).Size()] with the hashes EventColumns documents (a name key
// "" hashes to 0, no name). s must be valid (KeyStrings::Validate).
void HashEventKeys(const KeyStrings& s, uint64_t* keys);

// EventColumns over hashed keys plus the caller's per-message columns (verdict and
// sender_own may be null for lookups, which read neither).
EventColumns EventColumnsOfKeys(const KeyStrings& s, const uint64_t* keys, const int64_t* time,
                                const uint8_t* verdict, const uint8_t* sender_own);

// Columns of the lookup output, one float32 row per message. NaN = not applicable.
enum Output : int {
  kSenderPrevalence = 0,  // 0 new, 1 rare, 2 common (messages strictly before t)
  kSenderDaysKnown,
  kSenderMessages,
  kSenderRecent,  // decayed message count at t
  kSenderActiveDays,
  kSenderRecipients,
  kSenderSolicited,
  kSenderMalicious,
  kSenderBenign,
  kDomainPrevalence,
  kDomainDaysKnown,
  kDomainMessages,
  kDomainSenders,
  kDomainSolicited,
  kDomainMalicious,
  kDomainTenants,
  kPairCountMin,  // over the message's recipients; NaN without recipients
  kPairCountMax,
  kPairReverseMax,
  kPairKnownShare,
  kRecipientSafeRateMin,
  kRecipientFirstTimeShareMax,
  kRecipientReceivedMin,
  kNameOtherAddress,  // the display name is known with other addresses, not this one; NaN without a name
  kNameAddresses,
  kNameSenderKnown,
  kReplyToNeverSeen,  // a reply-to other than the sender never seen with this sender
  kNumOutputs
};
const char* OutputName(int output);

struct StoreStats {
  size_t size[kNumTables];
  size_t capacity[kNumTables];
  size_t bytes[kNumTables];
  uint64_t applied_seq;  // sequence number of the last applied log record
  uint64_t log_records;  // records in the log since the last compaction
  uint64_t log_bytes;
  uint64_t ignored_torn_bytes;  // bytes of a torn last log record cut off on open
};

class BaselineStore {
 public:
  // An in-memory store (no files): for replays, tests and offline builds.
  explicit BaselineStore(double half_life_seconds);
  ~BaselineStore();
  BaselineStore(const BaselineStore&) = delete;
  BaselineStore& operator=(const BaselineStore&) = delete;

  // A store in directory `dir`. With create, a missing store is created (an empty
  // snapshot with this half-life). read_only opens without taking the writer lock.
  // sync: fdatasync every log append (the durability guarantee); off only for bulk loads.
  static std::unique_ptr<BaselineStore> Open(const std::string& dir, bool create, bool read_only,
                                             double half_life_seconds, bool sync);

  // Fills out[n_messages * kNumOutputs] with what the store knew strictly before each time.
  void Lookup(const EventColumns& ev, float* out) const { Lookup(ev, out, kNumOutputs); }
  // The same, row m written at out + m * row_stride (row_stride >= kNumOutputs).
  void Lookup(const EventColumns& ev, float* out, int64_t row_stride) const;
  // Applies the messages in order, then appends them to the log (one record) when file-backed.
  void Observe(const EventColumns& ev);
  // Point-in-time replay of a batch sorted by time: lookups of message i see only
  // messages with time < t_i (earlier batches and earlier rows), then it is observed.
  void Replay(const EventColumns& ev, float* out);
  // Writes a new snapshot atomically and truncates the log (file-backed only).
  void Compact();
  // Writes this store as a new store in `dir` (snapshot + empty log), replacing one there.
  void SaveAs(const std::string& dir);

  // Bulk load of whole entries (offline builds); a key already present is an error.
  void PutEntries(Table table, const void* entries, int64_t n);
  // Copies the occupied entries of a table (in slot order) into a byte buffer.
  std::vector<uint8_t> Entries(Table table) const;

  StoreStats Stats() const;
  double HalfLifeSeconds() const { return half_life_; }
  const std::string& Dir() const { return dir_; }

 private:
  void ApplyOne(const EventColumns& ev, int64_t m);
  void LookupOne(const EventColumns& ev, int64_t m, float* row) const;
  void AppendLog(const EventColumns& ev);
  void LoadSnapshot(const std::string& path);
  void ReplayLog(const std::string& path, bool writable);
  void WriteSnapshot(const std::string& path, uint64_t applied_seq, uint64_t store_id) const;
  void WriteEmptyLog(const std::string& path, uint64_t store_id) const;

  double half_life_;
  HashTable<EntityStats> senders_;
  HashTable<EntityStats> domains_;
  HashTable<EntityStats> global_domains_;
  HashTable<PairStats> pairs_;
  HashTable<RecipientStats> recipients_;
  HashTable<NameStats> names_;
  HashTable<PairStats> reply_to_;

  std::string dir_;  // empty for an in-memory store
  bool read_only_ = false;
  bool sync_ = true;
  int log_fd_ = -1;
  uint64_t store_id_ = 0;
  uint64_t applied_seq_ = 0;
  uint64_t log_records_ = 0;
  uint64_t log_bytes_ = 0;
  uint64_t ignored_torn_bytes_ = 0;
};

}  // namespace baseline
}  // namespace pyscore
