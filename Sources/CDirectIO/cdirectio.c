// Everything is in the header; SwiftPM needs one source file per C target.
#include "cdirectio.h"
