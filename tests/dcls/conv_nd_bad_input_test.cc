// Every malformed argument of the dense conv ops gives InvalidArgument
// naming it.

#include <random>

#include "gtest/gtest.h"
#include "ops/conv_nd.h"
#include "tests/dcls/bad_input_table.h"
#include "tests/host_tensor.h"

namespace tapconv::testing {
namespace {

template <typename IO>
using Rows = std::vector<BadInputRow<ConvNdArgs, IO>>;

template <typename Row>
void Append(std::vector<Row>& rows, const std::vector<Row>& more) {
  rows.insert(rows.end(), more.begin(), more.end());
}

// x (2, 4, 6, 5), weight (6, 2, 3, 2), groups 2, stride (2, 1), padding 1,
// dilation (1, 2): y (2, 6, 3, 5).
struct Fixture {
  ConvNdArgs args{{2, 1}, {1}, {1, 2}, 2};
  HostTensor x, w, b, y, dx, dw, db;
  Fixture() {
    std::mt19937_64 rng(61);
    x = Uniform(DType::kF64, {2, 4, 6, 5}, rng);
    w = Uniform(DType::kF64, {6, 2, 3, 2}, rng);
    b = Uniform(DType::kF64, {6}, rng);
    y = HostTensor(DType::kF64, {2, 6, 3, 5});
    dx = HostTensor(DType::kF64, x.shape());
    dw = HostTensor(DType::kF64, w.shape());
    db = HostTensor(DType::kF64, {6});
  }
};

// Rows on the args and on the weight, for any IO with `weight`-like member
// reached by get_w and the activation that sets the input shape by get_x.
template <typename IO, typename GetX, typename GetW>
Rows<IO> CommonRows(const std::string& x_name, GetX get_x,
                    const std::string& w_name, GetW get_w) {
  using A = ConvNdArgs;
  return {
      {"stride 0", [](A& a, IO&) { a.stride = {0}; }, "stride"},
      {"stride < 0",
       [](A& a, IO&) {
         a.stride = {1, -2};
       },
       "stride"},
      {"stride count",
       [](A& a, IO&) {
         a.stride = {1, 1, 1};
       },
       "stride"},
      {"stride empty", [](A& a, IO&) { a.stride = {}; }, "stride"},
      {"stride huge", [](A& a, IO&) { a.stride = {int64_t{1} << 62}; },
       "stride"},
      {"padding < 0", [](A& a, IO&) { a.padding = {-1}; }, "padding"},
      {"padding count",
       [](A& a, IO&) {
         a.padding = {1, 1, 1};
       },
       "padding"},
      {"dilation 0", [](A& a, IO&) { a.dilation = {0}; }, "dilation"},
      {"dilation count",
       [](A& a, IO&) {
         a.dilation = {1, 1, 1, 1};
       },
       "dilation"},
      {"groups 0", [](A& a, IO&) { a.groups = 0; }, "groups"},
      {"groups not dividing C_in", [](A& a, IO&) { a.groups = 3; }, "groups"},
      {"kernel extent overflows",
       [](A& a, IO&) { a.dilation = {int64_t{1} << 59}; }, w_name},
      {"kernel larger than padded input",
       [](A& a, IO&) {
         a.padding = {0, 0};
         a.dilation = {3};
       },
       x_name},
      {x_name + " rank 2",
       [get_x](A&, IO& io) {
         SetShape(get_x(io), {2, 4});
       },
       x_name},
      {x_name + " rank 6",
       [get_x](A&, IO& io) {
         SetShape(get_x(io), {2, 4, 1, 1, 6, 5});
       },
       x_name},
      {x_name + " int", [get_x](A&, IO& io) { get_x(io).dtype = DType::kI32; },
       x_name},
      {x_name + " non-contiguous",
       [get_x](A&, IO& io) { MakeNonContiguous(get_x(io)); }, x_name},
      {x_name + " null", [get_x](A&, IO& io) { get_x(io).data = nullptr; },
       x_name},
      {x_name + " negative size",
       [get_x](A&, IO& io) { get_x(io).shape[2] = -6; }, x_name},
      {w_name + " rank", [get_w](A&, IO& io) { AddAxis(get_w(io)); }, w_name},
      {w_name + " dtype", [get_w](A&, IO& io) { OtherFloatDType(get_w(io)); },
       w_name},
      {w_name + " device", [get_w](A&, IO& io) { OnGpu(get_w(io)); }, w_name},
      {w_name + " non-contiguous",
       [get_w](A&, IO& io) { MakeNonContiguous(get_w(io)); }, w_name},
      {w_name + " null", [get_w](A&, IO& io) { get_w(io).data = nullptr; },
       w_name},
      {w_name + " C_in/groups",
       [get_w](A&, IO& io) { Resize(get_w(io), 1, 4); }, w_name},
      {w_name + " C_out not divisible by groups",
       [get_w](A&, IO& io) { Resize(get_w(io), 0, 5); }, w_name},
      {w_name + " kernel size 0",
       [get_w](A&, IO& io) { Resize(get_w(io), 2, 0); }, w_name},
  };
}

TEST(ConvNdBadInputTest, Forward) {
  Fixture f;
  using IO = ConvNdForwardIO;
  using A = ConvNdArgs;
  const IO io{f.x.ref(), f.w.ref(), f.b.ref(), f.y.ref()};
  Rows<IO> rows = CommonRows<IO>(
      "x", [](IO& io) -> TensorRef& { return io.x; }, "weight",
      [](IO& io) -> TensorRef& { return io.weight; });
  Append(
      rows,
      Rows<IO>{
          {"bias shape", [](A&, IO& io) { Resize(*io.bias, 0, 3); }, "bias"},
          {"bias rank", [](A&, IO& io) { AddAxis(*io.bias); }, "bias"},
          {"bias dtype", [](A&, IO& io) { OtherFloatDType(*io.bias); }, "bias"},
          {"bias device", [](A&, IO& io) { OnGpu(*io.bias); }, "bias"},
          {"bias null", [](A&, IO& io) { io.bias->data = nullptr; }, "bias"},
          {"y shape", [](A&, IO& io) { Resize(io.y, 2, 4); }, "y"},
          {"y batch", [](A&, IO& io) { Resize(io.y, 0, 1); }, "y"},
          {"y dtype", [](A&, IO& io) { OtherFloatDType(io.y); }, "y"},
          {"y device", [](A&, IO& io) { OnGpu(io.y); }, "y"},
          {"y non-contiguous", [](A&, IO& io) { MakeNonContiguous(io.y); },
           "y"},
          {"y null", [](A&, IO& io) { io.y.data = nullptr; }, "y"},
          {"y aliases x", [](A&, IO& io) { io.y.data = io.x.data; }, "y"},
          {"y aliases weight", [](A&, IO& io) { io.weight.data = io.y.data; },
           "y"},
          {"y aliases bias", [](A&, IO& io) { io.bias->data = io.y.data; },
           "y"},
      });
  RunBadInputTable(
      f.args, io,
      [](const A& a, const IO& i) { return ops::ConvNdForward(a, i); }, rows);
}

TEST(ConvNdBadInputTest, BackwardInput) {
  Fixture f;
  using IO = ConvNdBackwardInputIO;
  using A = ConvNdArgs;
  const IO io{f.y.ref(), f.w.ref(), f.dx.ref()};
  Rows<IO> rows = CommonRows<IO>(
      "dx", [](IO& io) -> TensorRef& { return io.dx; }, "weight",
      [](IO& io) -> TensorRef& { return io.weight; });
  Append(
      rows,
      Rows<IO>{
          {"dy shape", [](A&, IO& io) { Resize(io.dy, -1, 4); }, "dy"},
          {"dy channels", [](A&, IO& io) { Resize(io.dy, 1, 5); }, "dy"},
          {"dy rank", [](A&, IO& io) { DropAxis(io.dy); }, "dy"},
          {"dy dtype", [](A&, IO& io) { OtherFloatDType(io.dy); }, "dy"},
          {"dy device", [](A&, IO& io) { OnGpu(io.dy); }, "dy"},
          {"dy non-contiguous", [](A&, IO& io) { MakeNonContiguous(io.dy); },
           "dy"},
          {"dy null", [](A&, IO& io) { io.dy.data = nullptr; }, "dy"},
          {"dx aliases dy", [](A&, IO& io) { io.dy.data = io.dx.data; }, "dx"},
          {"dx aliases weight", [](A&, IO& io) { io.weight.data = io.dx.data; },
           "dx"},
      });
  RunBadInputTable(
      f.args, io,
      [](const A& a, const IO& i) { return ops::ConvNdBackwardInput(a, i); },
      rows);
}

TEST(ConvNdBadInputTest, BackwardParams) {
  Fixture f;
  using IO = ConvNdBackwardParamsIO;
  using A = ConvNdArgs;
  const IO io{f.y.ref(), f.x.ref(), f.dw.ref(), f.db.ref()};
  Rows<IO> rows = CommonRows<IO>(
      "x", [](IO& io) -> TensorRef& { return io.x; }, "dweight",
      [](IO& io) -> TensorRef& { return *io.dweight; });
  Append(
      rows,
      Rows<IO>{
          {"nothing requested",
           [](A&, IO& io) {
             io.dweight.reset();
             io.dbias.reset();
           },
           "dweight"},
          {"dy shape", [](A&, IO& io) { Resize(io.dy, -1, 4); }, "dy"},
          {"dy dtype", [](A&, IO& io) { OtherFloatDType(io.dy); }, "dy"},
          {"dy null", [](A&, IO& io) { io.dy.data = nullptr; }, "dy"},
          {"dweight aliases x",
           [](A&, IO& io) { io.dweight->data = io.x.data; }, "dweight"},
          {"dweight aliases dy",
           [](A&, IO& io) { io.dweight->data = io.dy.data; }, "dweight"},
          {"dbias shape", [](A&, IO& io) { Resize(*io.dbias, 0, 3); }, "dbias"},
          {"dbias dtype", [](A&, IO& io) { OtherFloatDType(*io.dbias); },
           "dbias"},
          {"dbias device", [](A&, IO& io) { OnGpu(*io.dbias); }, "dbias"},
          {"dbias aliases dy", [](A&, IO& io) { io.dbias->data = io.dy.data; },
           "dbias"},
          {"dbias aliases dweight",
           [](A&, IO& io) { io.dbias->data = io.dweight->data; }, "dbias"},
      });
  RunBadInputTable(
      f.args, io,
      [](const A& a, const IO& i) { return ops::ConvNdBackwardParams(a, i); },
      rows);

  // dbias alone: the kernel size is unknown, but everything else is checked.
  const IO bias_only{f.y.ref(), f.x.ref(), std::nullopt, f.db.ref()};
  RunBadInputTable(
      f.args, bias_only,
      [](const A& a, const IO& i) { return ops::ConvNdBackwardParams(a, i); },
      Rows<IO>{
          {"stride 0", [](A& a, IO&) { a.stride = {0}; }, "stride"},
          {"padding < 0", [](A& a, IO&) { a.padding = {-1}; }, "padding"},
          {"dilation 0", [](A& a, IO&) { a.dilation = {0}; }, "dilation"},
          {"groups 0", [](A& a, IO&) { a.groups = 0; }, "groups"},
          {"groups 3", [](A& a, IO&) { a.groups = 3; }, "groups"},
          {"x rank",
           [](A&, IO& io) {
             SetShape(io.x, {2, 4});
           },
           "x"},
          {"x int", [](A&, IO& io) { io.x.dtype = DType::kI64; }, "x"},
          {"dy rank", [](A&, IO& io) { AddAxis(io.dy); }, "dy"},
          {"dy batch", [](A&, IO& io) { Resize(io.dy, 0, 3); }, "dy"},
          {"dy dtype", [](A&, IO& io) { OtherFloatDType(io.dy); }, "dy"},
          {"dy device", [](A&, IO& io) { OnGpu(io.dy); }, "dy"},
          {"dbias shape", [](A&, IO& io) { Resize(*io.dbias, 0, 5); }, "dbias"},
          {"dbias aliases dy", [](A&, IO& io) { io.dbias->data = io.dy.data; },
           "dbias"},
          {"dbias aliases x", [](A&, IO& io) { io.dbias->data = io.x.data; },
           "dbias"},
      });
}

}  // namespace
}  // namespace tapconv::testing
