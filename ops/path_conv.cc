#include "ops/path_conv.h"

// Validation and entry points: to be written (placeholder so the skeleton builds).
