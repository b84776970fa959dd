// Only the header of this target matters; C targets need one source file.
#include "LibFuzzerDriver.h"
