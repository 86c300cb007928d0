#include "ops/geometry/paths.h"
