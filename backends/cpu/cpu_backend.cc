#include "backends/cpu/cpu_backend.h"

#include <memory>

namespace tapconv {
namespace {

const BackendRegistration registration(std::make_unique<CpuBackend>());

}  // namespace
}  // namespace tapconv
