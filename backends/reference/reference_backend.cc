#include "backends/reference/reference_backend.h"

#include <memory>

namespace tapconv {
namespace {

const BackendRegistration registration(std::make_unique<ReferenceBackend>());

}  // namespace
}  // namespace tapconv
