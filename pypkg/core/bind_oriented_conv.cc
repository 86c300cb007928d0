#include <string>

#include "ops/oriented_conv.h"
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

OrientedConvArgs MakeArgs(int64_t stride, int64_t dilation,
                          const std::string& tap_rule,
                          const std::string& layout, bool residual) {
  OrientedConvArgs args;
  args.stride = stride;
  args.dilation = dilation;
  args.tap_rule = ParseTapRule(tap_rule);
  args.layout = ParseLayout(layout);
  args.residual = residual;
  return args;
}

constexpr char kOptionsDoc[] =
    "stride (same along H and W; output ceil(H/stride) x ceil(W/stride)), "
    "dilation, tap_rule "
    "('trunc' | 'line'), layout ('NCHW' | 'NHWC': x and y are (N, H, W, C) "
    "contiguous), "
    "residual (adds 1 to the centre tap: y = x + conv(x) at stride 1).";

}  // namespace

void BindOrientedConv(py::module_& m) {
  m.def(
      "oriented_conv2d_forward",
      [](py::handle x, py::handle weight, py::handle theta, py::handle y,
         py::handle bias, int64_t stride, int64_t dilation,
         const std::string& tap_rule, const std::string& layout, bool residual,
         const std::string& backend, uintptr_t stream, int num_threads) {
        const OrientedConvArgs args =
            MakeArgs(stride, dilation, tap_rule, layout, residual);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tx = BorrowTensor(x, "x", stream);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tt = BorrowTensor(theta, "theta", stream);
        auto tb = BorrowOptionalTensor(bias, "bias", stream);
        auto ty = BorrowTensor(y, "y", stream);
        const OrientedConvForwardIO io{tx.ref(), tw.ref(), tt.ref(), RefOf(tb),
                                       ty.ref()};
        RunOp(tx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::OrientedConv2dForward(args, io, c);
        });
      },
      py::arg("x"), py::arg("weight"), py::arg("theta"), py::arg("y"),
      py::kw_only(), py::arg("bias") = py::none(), py::arg("stride") = 1,
      py::arg("dilation") = 1, py::arg("tap_rule") = "trunc",
      py::arg("layout") = "NCHW", py::arg("residual") = false,
      TAPCONV_PY_EXEC_ARGS,
      (std::string("y[n,c,p,q] = sum_k w[c,k] x[n,c, s*p + dh_c(k), s*q + "
                   "dw_c(k)] + b[c]; "
                   "weight (C,1,1,K) K odd, theta (C) or (C,1) radians "
                   "f32/f64, y written. ") +
       kOptionsDoc)
          .c_str());

  m.def(
      "oriented_conv2d_backward_input",
      [](py::handle dy, py::handle weight, py::handle theta, py::handle dx,
         int64_t stride, int64_t dilation, const std::string& tap_rule,
         const std::string& layout, bool residual, const std::string& backend,
         uintptr_t stream, int num_threads) {
        const OrientedConvArgs args =
            MakeArgs(stride, dilation, tap_rule, layout, residual);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tdy = BorrowTensor(dy, "dy", stream);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tt = BorrowTensor(theta, "theta", stream);
        auto tdx = BorrowTensor(dx, "dx", stream);
        const OrientedConvBackwardInputIO io{tdy.ref(), tw.ref(), tt.ref(),
                                             tdx.ref()};
        RunOp(tdx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::OrientedConv2dBackwardInput(args, io, c);
        });
      },
      py::arg("dy"), py::arg("weight"), py::arg("theta"), py::arg("dx"),
      py::kw_only(), py::arg("stride") = 1, py::arg("dilation") = 1,
      py::arg("tap_rule") = "trunc", py::arg("layout") = "NCHW",
      py::arg("residual") = false, TAPCONV_PY_EXEC_ARGS,
      "dx = the exact adjoint of oriented_conv2d_forward applied to dy (dx's "
      "shape gives H, W).");

  m.def(
      "oriented_conv2d_backward_params",
      [](py::handle dy, py::handle x, py::handle theta, py::handle dweight,
         py::handle dbias, int64_t stride, int64_t dilation,
         const std::string& tap_rule, const std::string& layout, bool residual,
         const std::string& backend, uintptr_t stream, int num_threads) {
        const OrientedConvArgs args =
            MakeArgs(stride, dilation, tap_rule, layout, residual);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tdy = BorrowTensor(dy, "dy", stream);
        auto tx = BorrowTensor(x, "x", stream);
        auto tt = BorrowTensor(theta, "theta", stream);
        auto tdw = BorrowOptionalTensor(dweight, "dweight", stream);
        auto tdb = BorrowOptionalTensor(dbias, "dbias", stream);
        const OrientedConvBackwardParamsIO io{tdy.ref(), tx.ref(), tt.ref(),
                                              RefOf(tdw), RefOf(tdb)};
        RunOp(tx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::OrientedConv2dBackwardParams(args, io, c);
        });
      },
      py::arg("dy"), py::arg("x"), py::arg("theta"), py::kw_only(),
      py::arg("dweight") = py::none(), py::arg("dbias") = py::none(),
      py::arg("stride") = 1, py::arg("dilation") = 1,
      py::arg("tap_rule") = "trunc", py::arg("layout") = "NCHW",
      py::arg("residual") = false, TAPCONV_PY_EXEC_ARGS,
      "dweight[c,k] = sum_{n,p,q} dy[n,c,p,q] x[n,c, s*p + dh_c(k), s*q + "
      "dw_c(k)], "
      "dbias[c] = sum dy[n,c,:,:]; at least one of dweight (C,1,1,K), dbias "
      "(C) is given and "
      "overwritten.");
}

}  // namespace python
}  // namespace tapconv
