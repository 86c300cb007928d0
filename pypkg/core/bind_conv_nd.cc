#include <string>
#include <vector>

#include "ops/conv_nd.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"
#include "pypkg/core/arg_parsing.h"
#include "pypkg/core/bindings.h"
#include "pypkg/core/dlpack_tensor.h"
#include "pypkg/core/run_op.h"

namespace tapconv {
namespace python {
namespace py = pybind11;
namespace {

ConvNdArgs MakeArgs(const std::vector<int64_t>& stride,
                    const std::vector<int64_t>& padding,
                    const std::vector<int64_t>& dilation, int64_t groups) {
  ConvNdArgs args;
  args.stride = ToSpatialDims(stride, "stride");
  args.padding = ToSpatialDims(padding, "padding");
  args.dilation = ToSpatialDims(dilation, "dilation");
  args.groups = groups;
  return args;
}

}  // namespace

void BindConvNd(py::module_& m) {
  m.def(
      "conv_nd_forward",
      [](py::handle x, py::handle weight, py::handle y, py::handle bias,
         const std::vector<int64_t>& stride,
         const std::vector<int64_t>& padding,
         const std::vector<int64_t>& dilation, int64_t groups,
         const std::string& backend, uintptr_t stream, int num_threads) {
        const ConvNdArgs args = MakeArgs(stride, padding, dilation, groups);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tx = BorrowTensor(x, "x", stream);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tb = BorrowOptionalTensor(bias, "bias", stream);
        auto ty = BorrowTensor(y, "y", stream);
        const ConvNdForwardIO io{tx.ref(), tw.ref(), RefOf(tb), ty.ref()};
        RunOp(tx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::ConvNdForward(args, io, c);
        });
      },
      py::arg("x"), py::arg("weight"), py::arg("y"), py::kw_only(),
      py::arg("bias") = py::none(), py::arg("stride") = std::vector<int64_t>{1},
      py::arg("padding") = std::vector<int64_t>{0},
      py::arg("dilation") = std::vector<int64_t>{1}, py::arg("groups") = 1,
      TAPCONV_PY_EXEC_ARGS,
      "y = torch.nn.functional.conv{N}d(x, weight, bias, stride, padding, "
      "dilation, groups) "
      "with zero padding, N = 1, 2, 3; a single stride/padding/dilation value "
      "applies to "
      "every axis.");

  m.def(
      "conv_nd_backward_input",
      [](py::handle dy, py::handle weight, py::handle dx,
         const std::vector<int64_t>& stride,
         const std::vector<int64_t>& padding,
         const std::vector<int64_t>& dilation, int64_t groups,
         const std::string& backend, uintptr_t stream, int num_threads) {
        const ConvNdArgs args = MakeArgs(stride, padding, dilation, groups);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tdy = BorrowTensor(dy, "dy", stream);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tdx = BorrowTensor(dx, "dx", stream);
        const ConvNdBackwardInputIO io{tdy.ref(), tw.ref(), tdx.ref()};
        RunOp(tdx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::ConvNdBackwardInput(args, io, c);
        });
      },
      py::arg("dy"), py::arg("weight"), py::arg("dx"), py::kw_only(),
      py::arg("stride") = std::vector<int64_t>{1},
      py::arg("padding") = std::vector<int64_t>{0},
      py::arg("dilation") = std::vector<int64_t>{1}, py::arg("groups") = 1,
      TAPCONV_PY_EXEC_ARGS,
      "dx = the adjoint of conv_nd_forward (without bias) applied to dy.");

  m.def(
      "conv_nd_backward_params",
      [](py::handle dy, py::handle x, py::handle dweight, py::handle dbias,
         const std::vector<int64_t>& stride,
         const std::vector<int64_t>& padding,
         const std::vector<int64_t>& dilation, int64_t groups,
         const std::string& backend, uintptr_t stream, int num_threads) {
        const ConvNdArgs args = MakeArgs(stride, padding, dilation, groups);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tdy = BorrowTensor(dy, "dy", stream);
        auto tx = BorrowTensor(x, "x", stream);
        auto tdw = BorrowOptionalTensor(dweight, "dweight", stream);
        auto tdb = BorrowOptionalTensor(dbias, "dbias", stream);
        const ConvNdBackwardParamsIO io{tdy.ref(), tx.ref(), RefOf(tdw),
                                        RefOf(tdb)};
        RunOp(tx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::ConvNdBackwardParams(args, io, c);
        });
      },
      py::arg("dy"), py::arg("x"), py::kw_only(),
      py::arg("dweight") = py::none(), py::arg("dbias") = py::none(),
      py::arg("stride") = std::vector<int64_t>{1},
      py::arg("padding") = std::vector<int64_t>{0},
      py::arg("dilation") = std::vector<int64_t>{1}, py::arg("groups") = 1,
      TAPCONV_PY_EXEC_ARGS,
      "Gradients of conv_nd_forward's weight and bias; at least one of "
      "dweight, dbias is given "
      "and overwritten.");
}

}  // namespace python
}  // namespace tapconv
