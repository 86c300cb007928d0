#include "ops/geometry/locality.h"
