#include "ops/dcls.h"

// Validation and entry points: to be written (placeholder so the skeleton builds).
