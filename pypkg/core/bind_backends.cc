#include "ops/backend.h"
#include "ops/device.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"
#include "pypkg/core/bindings.h"

namespace tapconv {
namespace python {
namespace py = pybind11;

void BindBackends(py::module_& m) {
  m.def(
      "backends",
      []() {
        py::list out;
        for (const Backend* b : BackendRegistry::Global().All()) {
          py::dict d;
          d["name"] = std::string(b->name());
          d["device"] = std::string(DeviceKindName(b->device_kind()));
          d["priority"] = b->priority();
          const bool available = b->available();
          d["available"] = available;
          d["reason"] = available ? std::string() : b->unavailable_reason();
          out.append(d);
        }
        return out;
      },
      "Every backend compiled into this build, available here or not: a list "
      "of dicts with "
      "name, device ('cpu', 'cuda', 'hip'), priority (the highest available "
      "one of a device is "
      "the default), available, and reason (why not, when unavailable).");
}

}  // namespace python
}  // namespace tapconv
