#ifndef TAPCONV_PYPKG_CORE_BINDINGS_H_
#define TAPCONV_PYPKG_CORE_BINDINGS_H_

// One function per family adds its functions to the _core module (module.cc).
// Conventions of every op binding: tensors are any DLPack-capable objects (or
// capsules); outputs are allocated by the caller and passed the same way;
// options are keyword-only; every op ends with the TAPCONV_PY_EXEC_ARGS
// keywords (backend, stream, num_threads).

#include "pybind11/pybind11.h"

namespace tapconv {
namespace python {

void BindBackends(pybind11::module_& m);
void BindOrientedConv(pybind11::module_& m);
void BindConvNd(pybind11::module_& m);
void BindDcls(pybind11::module_& m);
void BindPathOps(pybind11::module_& m);
void BindGeometry(pybind11::module_& m);

}  // namespace python
}  // namespace tapconv

#endif  // TAPCONV_PYPKG_CORE_BINDINGS_H_
