#include "swift_runtime.h"
#include <stdbool.h>

// The runtime's own switch (exported, unmangled, for debuggers): swift_beginAccess returns at once when it is
// set. Declared here rather than looked up with dlsym so that it also resolves when the Swift standard library
// is linked statically (--static-swift-stdlib), which exports no dynamic symbols.
extern bool _swift_disableExclusivityChecking;

void switchyard_disable_exclusivity_checking(void) {
    _swift_disableExclusivityChecking = true;
}
