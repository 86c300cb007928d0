// The tapconv._core extension: the C++ ops over DLPack tensors. It links no
// torch library, so one build serves every torch version (and NumPy) of its
// Python version.

#include "pybind11/pybind11.h"
#include "pypkg/core/bindings.h"

PYBIND11_MODULE(_core, m) {
  m.doc() =
      "tapconv's C++ ops over DLPack tensors (torch, NumPy, ...). Outputs are "
      "allocated by the "
      "caller; errors name the argument. Most users want tapconv.ops / "
      "tapconv.nn instead.";
  tapconv::python::BindBackends(m);
  tapconv::python::BindOrientedConv(m);
  tapconv::python::BindConvNd(m);
  tapconv::python::BindDcls(m);
  tapconv::python::BindPathOps(m);
  tapconv::python::BindGeometry(m);
}
