// Error type of the core and the CHECK macros that raise it with context.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace pyscore {

// A failure inside the core (corrupt data, broken invariant). Bad arguments
// from callers throw std::invalid_argument instead, which Python sees as ValueError.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <typename A, typename B>
std::string CheckMessage(const char* expr, const A& a, const B& b) {
  std::ostringstream os;
  os << "Check failed: " << expr << " (" << a << " vs. " << b << ")";
  return os.str();
}
}  // namespace detail

}  // namespace pyscore

#define PYSCORE_CHECK(cond, msg)                                      \
  do {                                                                \
    if (!(cond)) throw ::pyscore::Error(std::string("Check failed: ") + #cond + ": " + (msg)); \
  } while (0)

#define PYSCORE_CHECK_BINARY(a, b, op)                                                  \
  do {                                                                                  \
    if (!((a)op(b))) throw ::pyscore::Error(::pyscore::detail::CheckMessage(#a " " #op " " #b, (a), (b))); \
  } while (0)
#define PYSCORE_CHECK_EQ(a, b) PYSCORE_CHECK_BINARY(a, b, ==)
#define PYSCORE_CHECK_LT(a, b) PYSCORE_CHECK_BINARY(a, b, <)
#define PYSCORE_CHECK_LE(a, b) PYSCORE_CHECK_BINARY(a, b, <=)
#define PYSCORE_CHECK_GE(a, b) PYSCORE_CHECK_BINARY(a, b, >=)

#define PYSCORE_ARG_CHECK(cond, msg)                                  \
  do {                                                                \
    if (!(cond)) throw std::invalid_argument(msg);                    \
  } while (0)
