// Out-of-line anchor for pyscore::Error, so its vtable lives in one object.
#include "pyscore/error.h"

namespace pyscore {
const char* CoreName() { return "pyscore-core"; }
}  // namespace pyscore
