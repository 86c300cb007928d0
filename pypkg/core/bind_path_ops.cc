#include <string>

#include "ops/path_conv.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"
#include "pypkg/core/bindings.h"
#include "pypkg/core/dlpack_tensor.h"
#include "pypkg/core/run_op.h"

namespace tapconv {
namespace python {
namespace py = pybind11;
namespace {

PathConvArgs MakeArgs(int64_t stride, int64_t padding) {
  PathConvArgs args;
  args.stride = stride;
  args.padding = padding;
  return args;
}

}  // namespace

void BindPathOps(py::module_& m) {
  m.def(
      "path_gather",
      [](py::handle x, py::handle perm, py::handle y,
         const std::string& backend, uintptr_t stream, int num_threads) {
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tx = BorrowTensor(x, "x", stream);
        auto tp = BorrowTensor(perm, "perm", stream);
        auto ty = BorrowTensor(y, "y", stream);
        const PathGatherIO io{tx.ref(), tp.ref(), ty.ref()};
        RunOp(tx.ref().device, ctx,
              [&](const ExecContext& c) { return ops::PathGather(io, c); });
      },
      py::arg("x"), py::arg("perm"), py::arg("y"), py::kw_only(),
      TAPCONV_PY_EXEC_ARGS,
      "y[n, p*C + c, l] = x[n, c, perm[p, l]]: x (N, C, H, W), perm (P, H*W) "
      "int32/int64, "
      "y (N, P*C, H*W) written.");

  m.def(
      "path_scatter",
      [](py::handle y, py::handle inv, py::handle x, const std::string& backend,
         uintptr_t stream, int num_threads) {
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto ty = BorrowTensor(y, "y", stream);
        auto ti = BorrowTensor(inv, "inv", stream);
        auto tx = BorrowTensor(x, "x", stream);
        const PathScatterIO io{ty.ref(), ti.ref(), tx.ref()};
        RunOp(tx.ref().device, ctx,
              [&](const ExecContext& c) { return ops::PathScatter(io, c); });
      },
      py::arg("y"), py::arg("inv"), py::arg("x"), py::kw_only(),
      TAPCONV_PY_EXEC_ARGS,
      "The adjoint of path_gather: x[n, c, q] = sum_p y[n, p*C + c, inv[p, "
      "q]]; x (N, C, H, W) "
      "written.");

  m.def(
      "path_conv_forward",
      [](py::handle x, py::handle perm, py::handle weight, py::handle y,
         py::handle bias, int64_t stride, int64_t padding,
         const std::string& backend, uintptr_t stream, int num_threads) {
        const PathConvArgs args = MakeArgs(stride, padding);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tx = BorrowTensor(x, "x", stream);
        auto tp = BorrowTensor(perm, "perm", stream);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tb = BorrowOptionalTensor(bias, "bias", stream);
        auto ty = BorrowTensor(y, "y", stream);
        const PathConvForwardIO io{tx.ref(), tp.ref(), tw.ref(), RefOf(tb),
                                   ty.ref()};
        RunOp(tx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::PathConvForward(args, io, c);
        });
      },
      py::arg("x"), py::arg("perm"), py::arg("weight"), py::arg("y"),
      py::kw_only(), py::arg("bias") = py::none(), py::arg("stride") = 1,
      py::arg("padding") = 0, TAPCONV_PY_EXEC_ARGS,
      "Fused gather + depthwise conv1d: y = conv1d(path_gather(x, perm), "
      "weight, bias, stride, "
      "padding, groups=P*C); weight (P*C*m, 1, K), y (N, P*C*m, (H*W + "
      "2*padding - K)//stride "
      "+ 1) written.");

  m.def(
      "path_conv_backward_input",
      [](py::handle dy, py::handle inv, py::handle weight, py::handle dx,
         int64_t stride, int64_t padding, const std::string& backend,
         uintptr_t stream, int num_threads) {
        const PathConvArgs args = MakeArgs(stride, padding);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tdy = BorrowTensor(dy, "dy", stream);
        auto ti = BorrowTensor(inv, "inv", stream);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tdx = BorrowTensor(dx, "dx", stream);
        const PathConvBackwardInputIO io{tdy.ref(), ti.ref(), tw.ref(),
                                         tdx.ref()};
        RunOp(tdx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::PathConvBackwardInput(args, io, c);
        });
      },
      py::arg("dy"), py::arg("inv"), py::arg("weight"), py::arg("dx"),
      py::kw_only(), py::arg("stride") = 1, py::arg("padding") = 0,
      TAPCONV_PY_EXEC_ARGS,
      "dx = the adjoint of path_conv_forward (without bias) applied to dy, a "
      "gather through "
      "inv; dx (N, C, H, W) written.");

  m.def(
      "path_conv_backward_params",
      [](py::handle dy, py::handle x, py::handle perm, py::handle dweight,
         py::handle dbias, int64_t stride, int64_t padding,
         const std::string& backend, uintptr_t stream, int num_threads) {
        const PathConvArgs args = MakeArgs(stride, padding);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tdy = BorrowTensor(dy, "dy", stream);
        auto tx = BorrowTensor(x, "x", stream);
        auto tp = BorrowTensor(perm, "perm", stream);
        auto tdw = BorrowOptionalTensor(dweight, "dweight", stream);
        auto tdb = BorrowOptionalTensor(dbias, "dbias", stream);
        const PathConvBackwardParamsIO io{tdy.ref(), tx.ref(), tp.ref(),
                                          RefOf(tdw), RefOf(tdb)};
        RunOp(tx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::PathConvBackwardParams(args, io, c);
        });
      },
      py::arg("dy"), py::arg("x"), py::arg("perm"), py::kw_only(),
      py::arg("dweight") = py::none(), py::arg("dbias") = py::none(),
      py::arg("stride") = 1, py::arg("padding") = 0, TAPCONV_PY_EXEC_ARGS,
      "Gradients of path_conv_forward's weight and bias; the requested ones "
      "are overwritten.");
}

}  // namespace python
}  // namespace tapconv
