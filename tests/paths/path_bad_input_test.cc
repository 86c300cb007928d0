// Every malformed argument of the five path ops gives InvalidArgument whose
// message starts with the argument's name, and touches no memory: each table
// row mutates one valid call. Rows with null, foreign-device, mis-strided or
// oversized tensors and with non-permutation indices would read or write out of
// bounds (caught by --config=asan) if validation let them through; inputs and
// outputs must be unchanged afterwards.

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/path_conv.h"
#include "tests/paths/path_test_support.h"
#include "tests/test_util.h"

namespace tapconv::testing {
namespace {

constexpr Device kCuda{DeviceKind::kCuda, 0};

// One valid call of each op: N=2, C=2, H=3, W=4 (L=12), P=2 paths, multiplier
// 2, K=3, stride 2, padding 1, so L_out = (12 + 2 - 3) / 2 + 1 = 6.
class Tensors {
 public:
  Tensors() {
    std::mt19937_64 rng(51);
    for (HostTensor* t : Floats()) t->FillUniform(rng);
    const PathTensors paths =
        MakePaths(3, 4, {{Curve::kHilbert}, {Curve::kRaster, 0, 0, 0, 180}});
    perm = paths.perm;
    inv = paths.inv;
  }

  // A tensor that lives as long as this object.
  TensorRef Make(DType dtype, Dims shape) {
    spares_.emplace_back(dtype, std::move(shape));
    return spares_.back().ref();
  }

  std::vector<std::vector<double>> Snapshot() {
    std::vector<std::vector<double>> all;
    for (HostTensor* t : Floats()) all.push_back(t->ToDoubles());
    all.push_back(perm.ToDoubles());
    all.push_back(inv.ToDoubles());
    return all;
  }

  HostTensor x{DType::kF32, {2, 2, 3, 4}};
  HostTensor perm, inv;
  HostTensor seq{DType::kF32, {2, 4, 12}};  // gather's output, scatter's input
  HostTensor image{DType::kF32, {2, 2, 3, 4}};  // scatter's output
  HostTensor weight{DType::kF32, {8, 1, 3}};
  HostTensor bias{DType::kF32, {8}};
  HostTensor y{DType::kF32, {2, 8, 6}};
  HostTensor dy{DType::kF32, {2, 8, 6}};
  HostTensor dx{DType::kF32, {2, 2, 3, 4}};
  HostTensor dweight{DType::kF32, {8, 1, 3}};
  HostTensor dbias{DType::kF32, {8}};

 private:
  std::vector<HostTensor*> Floats() {
    return {&x, &seq, &image, &weight, &bias, &y, &dy, &dx, &dweight, &dbias};
  }
  std::deque<HostTensor> spares_;
};

PathConvArgs ValidArgs() { return PathConvArgs{2, 1}; }

template <typename IO>
struct Row {
  std::string what;
  std::string arg;  // the argument the message must start with
  std::function<void(PathConvArgs&, IO&, Tensors&)> mutate;
};

template <typename IO>
using Access = std::function<TensorRef&(IO&)>;

// Who reports a change of one tensor: itself, or for the tensor every other is
// compared with (the anchor), the first tensor compared with it for dtype and
// for device.
struct Reporter {
  std::string dtype, device;
};

// Mutations that are wrong for any tensor argument.
template <typename IO>
void AddGenericRows(std::vector<Row<IO>>& rows, const std::string& name,
                    Access<IO> get, bool index, const Reporter& mismatch) {
  auto add = [&](const std::string& what, const std::string& arg,
                 std::function<void(TensorRef&)> f) {
    rows.push_back({name + " " + what, arg,
                    [get, f](PathConvArgs&, IO& io, Tensors&) { f(get(io)); }});
  };
  add("null data", name, [](TensorRef& t) { t.data = nullptr; });
  add("negative size", name, [](TensorRef& t) { t.shape[0] = -1; });
  add("fewer strides than sizes", name,
      [](TensorRef& t) { t.strides.pop_back(); });
  add("non-contiguous", name, [](TensorRef& t) { t.strides.back() = 2; });
  add("transposed strides", name, [](TensorRef& t) {
    if (t.rank() < 2) {
      t.strides[0] = -1;  // a reversed view of a 1-D tensor
      return;
    }
    std::swap(t.strides[0], t.strides[1]);
    std::swap(t.shape[0], t.shape[1]);
  });
  add("more than 2^62 elements", name, [](TensorRef& t) {
    for (int64_t& d : t.shape)
      d = t.rank() == 1 ? (int64_t{1} << 62) + 1 : int64_t{1} << 40;
  });
  add("one more dimension", name, [](TensorRef& t) {
    t.shape.push_back(1);
    t.strides.push_back(1);
  });
  add("one dimension fewer", name, [](TensorRef& t) {
    t.shape.pop_back();
    t.strides.pop_back();
  });
  if (index) {
    add("float32", name, [](TensorRef& t) { t.dtype = DType::kF32; });
    add("float64", name, [](TensorRef& t) { t.dtype = DType::kF64; });
  } else {
    add("int32", name, [](TensorRef& t) { t.dtype = DType::kI32; });
    add("int64", name, [](TensorRef& t) { t.dtype = DType::kI64; });
    add("float64 among float32", mismatch.dtype,
        [](TensorRef& t) { t.dtype = DType::kF64; });
    add("bfloat16 among float32", mismatch.dtype,
        [](TensorRef& t) { t.dtype = DType::kBF16; });
  }
  // Host memory labelled as a GPU's: validation must reject it before anything
  // dereferences.
  add("on another device", mismatch.device,
      [](TensorRef& t) { t.device = kCuda; });
  add("on another cpu index", mismatch.device, [](TensorRef& t) {
    t.device = Device{DeviceKind::kCpu, 1};
  });
}

// Rows for an index tensor (perm or inv): length, values, int32 capacity.
// `image` is the tensor H and W are read from.
template <typename IO>
void AddIndexRows(std::vector<Row<IO>>& rows, const std::string& name,
                  Access<IO> get, Access<IO> image) {
  AddGenericRows<IO>(rows, name, get, /*index=*/true, {name, name});
  auto set = [get](int64_t flat, int64_t value) {
    return [get, flat, value](PathConvArgs&, IO& io, Tensors&) {
      get(io).template data_as<int64_t>()[flat] = value;
    };
  };
  rows.push_back({name + " length is not H*W", name,
                  [get](PathConvArgs&, IO& io, Tensors& t) {
                    get(io) = t.Make(DType::kI64, {2, 11});
                  }});
  rows.push_back({name + " index H*W", name, set(13, 12)});
  rows.push_back({name + " index -1", name, set(0, -1)});
  rows.push_back({name + " huge index", name, set(23, int64_t{1} << 40)});
  rows.push_back(
      {name + " repeated index", name, [get](PathConvArgs&, IO& io, Tensors&) {
         int64_t* row1 = get(io).template data_as<int64_t>() + 12;
         row1[5] = row1[6];
       }});
  // An empty batch with 2^16 x (2^16 + 1) pixels: no element is ever read.
  rows.push_back({name + " int32 for more than 2^31 pixels", name,
                  [get, image](PathConvArgs&, IO& io, Tensors& t) {
                    const int64_t h = int64_t{1} << 16, w = h + 1;
                    image(io) = t.Make(DType::kF32, {0, 2, h, w});
                    get(io) = t.Make(DType::kI32, {0, h * w});
                  }});
}

template <typename IO>
void ExpectRows(
    const std::vector<Row<IO>>& rows, const std::function<IO(Tensors&)>& make,
    const std::function<absl::Status(const PathConvArgs&, const IO&)>& run) {
  {
    Tensors t;
    IO io = make(t);
    ASSERT_TRUE(run(ValidArgs(), io).ok())
        << "the unmutated call must succeed: " << run(ValidArgs(), io);
  }
  for (const Row<IO>& row : rows) {
    Tensors t;
    PathConvArgs args = ValidArgs();
    IO io = make(t);
    row.mutate(args, io, t);
    // Values the mutation wrote into the index tensors are part of the
    // snapshot.
    const auto before = t.Snapshot();
    ExpectInvalidArgument(run(args, io), row.arg, row.what);
    EXPECT_EQ(t.Snapshot(), before)
        << row.what << ": a rejected call changed memory";
  }
}

// ---------------------------------------------------------------------------------------------

TEST(PathBadInputTest, Gather) {
  using IO = PathGatherIO;
  std::vector<Row<IO>> rows;
  AddGenericRows<IO>(rows, "x", [](IO& io) -> TensorRef& { return io.x; },
                     false, {"y", "perm"});
  AddIndexRows<IO>(
      rows, "perm", [](IO& io) -> TensorRef& { return io.perm; },
      [](IO& io) -> TensorRef& { return io.x; });
  AddGenericRows<IO>(rows, "y", [](IO& io) -> TensorRef& { return io.y; },
                     false, {"y", "y"});
  rows.push_back(
      {"y wrong channel count", "y", [](PathConvArgs&, IO& io, Tensors& t) {
         io.y = t.Make(DType::kF32, {2, 2, 12});
       }});
  rows.push_back({"y wrong length", "y", [](PathConvArgs&, IO& io, Tensors& t) {
                    io.y = t.Make(DType::kF32, {2, 4, 13});
                  }});
  rows.push_back({"y overlaps x", "y", [](PathConvArgs&, IO& io, Tensors&) {
                    io.y.data = io.x.data;
                  }});
  rows.push_back({"y overlaps perm", "y", [](PathConvArgs&, IO& io, Tensors&) {
                    io.y.data = io.perm.data;
                  }});
  ExpectRows<IO>(
      rows,
      [](Tensors& t) {
        return IO{t.x.ref(), t.perm.ref(), t.seq.ref()};
      },
      [](const PathConvArgs&, const IO& io) {
        return ops::PathGather(io, ReferenceContext());
      });
}

TEST(PathBadInputTest, Scatter) {
  using IO = PathScatterIO;
  std::vector<Row<IO>> rows;
  AddGenericRows<IO>(rows, "y", [](IO& io) -> TensorRef& { return io.y; },
                     false, {"y", "y"});
  AddIndexRows<IO>(
      rows, "inv", [](IO& io) -> TensorRef& { return io.inv; },
      [](IO& io) -> TensorRef& { return io.x; });
  AddGenericRows<IO>(rows, "x", [](IO& io) -> TensorRef& { return io.x; },
                     false, {"y", "inv"});
  rows.push_back(
      {"y wrong channel count", "y", [](PathConvArgs&, IO& io, Tensors& t) {
         io.y = t.Make(DType::kF32, {2, 6, 12});
       }});
  rows.push_back({"y wrong batch", "y", [](PathConvArgs&, IO& io, Tensors& t) {
                    io.y = t.Make(DType::kF32, {1, 4, 12});
                  }});
  rows.push_back(
      {"x wrong image size", "inv", [](PathConvArgs&, IO& io, Tensors& t) {
         io.x = t.Make(DType::kF32, {2, 2, 4, 4});
       }});
  rows.push_back({"x overlaps y", "x", [](PathConvArgs&, IO& io, Tensors&) {
                    io.x.data = io.y.data;
                  }});
  rows.push_back({"x overlaps inv", "x", [](PathConvArgs&, IO& io, Tensors&) {
                    io.x.data = io.inv.data;
                  }});
  ExpectRows<IO>(
      rows,
      [](Tensors& t) {
        return IO{t.seq.ref(), t.inv.ref(), t.image.ref()};
      },
      [](const PathConvArgs&, const IO& io) {
        return ops::PathScatter(io, ReferenceContext());
      });
}

// Rows for the conv's args, shared by the three conv ops.
template <typename IO>
void AddArgRows(std::vector<Row<IO>>& rows) {
  rows.push_back({"stride 0", "stride",
                  [](PathConvArgs& a, IO&, Tensors&) { a.stride = 0; }});
  rows.push_back({"stride -2", "stride",
                  [](PathConvArgs& a, IO&, Tensors&) { a.stride = -2; }});
  rows.push_back({"padding -1", "padding",
                  [](PathConvArgs& a, IO&, Tensors&) { a.padding = -1; }});
  rows.push_back(
      {"padding 2^61", "padding",
       [](PathConvArgs& a, IO&, Tensors&) { a.padding = int64_t{1} << 61; }});
}

// Rows for weight-shaped tensors (weight, dweight): (P*C*m, 1, K) with K <= H*W
// + 2*padding.
template <typename IO>
void AddWeightRows(std::vector<Row<IO>>& rows, const std::string& name,
                   Access<IO> get) {
  auto shape = [get](Dims d) {
    return [get, d](PathConvArgs&, IO& io, Tensors& t) {
      get(io) = t.Make(DType::kF32, d);
    };
  };
  rows.push_back(
      {name + " channels not a multiple of P*C", name, shape({7, 1, 3})});
  rows.push_back({name + " no channels (m = 0)", name, shape({0, 1, 3})});
  rows.push_back({name + " fewer channels than P*C", name, shape({2, 1, 3})});
  rows.push_back({name + " second dimension 2", name, shape({8, 2, 3})});
  rows.push_back({name + " K = 0", name, shape({8, 1, 0})});
  rows.push_back(
      {name + " K longer than the padded path", name, shape({8, 1, 15})});
  rows.push_back({name + " K too long without padding", name,
                  [get](PathConvArgs& a, IO& io, Tensors& t) {
                    a.padding = 0;
                    get(io) = t.Make(DType::kF32, {8, 1, 13});
                  }});
}

TEST(PathBadInputTest, ConvForward) {
  using IO = PathConvForwardIO;
  std::vector<Row<IO>> rows;
  AddArgRows<IO>(rows);
  AddGenericRows<IO>(rows, "x", [](IO& io) -> TensorRef& { return io.x; },
                     false, {"weight", "perm"});
  AddIndexRows<IO>(
      rows, "perm", [](IO& io) -> TensorRef& { return io.perm; },
      [](IO& io) -> TensorRef& { return io.x; });
  AddGenericRows<IO>(rows, "weight",
                     [](IO& io) -> TensorRef& { return io.weight; }, false,
                     {"weight", "weight"});
  AddWeightRows<IO>(rows, "weight",
                    [](IO& io) -> TensorRef& { return io.weight; });
  AddGenericRows<IO>(rows, "bias",
                     [](IO& io) -> TensorRef& { return *io.bias; }, false,
                     {"bias", "bias"});
  rows.push_back(
      {"bias wrong size", "bias", [](PathConvArgs&, IO& io, Tensors& t) {
         io.bias = t.Make(DType::kF32, {4});
       }});
  AddGenericRows<IO>(rows, "y", [](IO& io) -> TensorRef& { return io.y; },
                     false, {"y", "y"});
  rows.push_back({"y wrong length", "y", [](PathConvArgs&, IO& io, Tensors& t) {
                    io.y = t.Make(DType::kF32, {2, 8, 7});
                  }});
  rows.push_back({"y length of stride 1", "y",
                  [](PathConvArgs& a, IO&, Tensors&) { a.stride = 1; }});
  rows.push_back(
      {"y wrong channels", "y", [](PathConvArgs&, IO& io, Tensors& t) {
         io.y = t.Make(DType::kF32, {2, 4, 6});
       }});
  for (auto [name, get] : std::vector<std::pair<std::string, Access<IO>>>{
           {"x", [](IO& io) -> TensorRef& { return io.x; }},
           {"perm", [](IO& io) -> TensorRef& { return io.perm; }},
           {"weight", [](IO& io) -> TensorRef& { return io.weight; }},
           {"bias", [](IO& io) -> TensorRef& { return *io.bias; }}}) {
    rows.push_back({"y overlaps " + name, "y",
                    [get = get](PathConvArgs&, IO& io, Tensors&) {
                      io.y.data = get(io).data;
                    }});
  }
  ExpectRows<IO>(
      rows,
      [](Tensors& t) {
        return IO{t.x.ref(), t.perm.ref(), t.weight.ref(), t.bias.ref(),
                  t.y.ref()};
      },
      [](const PathConvArgs& a, const IO& io) {
        return ops::PathConvForward(a, io, ReferenceContext());
      });
}

TEST(PathBadInputTest, ConvBackwardInput) {
  using IO = PathConvBackwardInputIO;
  std::vector<Row<IO>> rows;
  AddArgRows<IO>(rows);
  AddGenericRows<IO>(rows, "dx", [](IO& io) -> TensorRef& { return io.dx; },
                     false, {"weight", "inv"});
  AddIndexRows<IO>(
      rows, "inv", [](IO& io) -> TensorRef& { return io.inv; },
      [](IO& io) -> TensorRef& { return io.dx; });
  AddGenericRows<IO>(rows, "weight",
                     [](IO& io) -> TensorRef& { return io.weight; }, false,
                     {"weight", "weight"});
  AddWeightRows<IO>(rows, "weight",
                    [](IO& io) -> TensorRef& { return io.weight; });
  AddGenericRows<IO>(rows, "dy", [](IO& io) -> TensorRef& { return io.dy; },
                     false, {"dy", "dy"});
  rows.push_back(
      {"dy wrong length", "dy", [](PathConvArgs&, IO& io, Tensors& t) {
         io.dy = t.Make(DType::kF32, {2, 8, 5});
       }});
  rows.push_back(
      {"dy wrong channels", "dy", [](PathConvArgs&, IO& io, Tensors& t) {
         io.dy = t.Make(DType::kF32, {2, 4, 6});
       }});
  rows.push_back({"dy length of padding 0", "dy",
                  [](PathConvArgs& a, IO&, Tensors&) { a.padding = 0; }});
  for (auto [name, get] : std::vector<std::pair<std::string, Access<IO>>>{
           {"dy", [](IO& io) -> TensorRef& { return io.dy; }},
           {"inv", [](IO& io) -> TensorRef& { return io.inv; }},
           {"weight", [](IO& io) -> TensorRef& { return io.weight; }}}) {
    rows.push_back({"dx overlaps " + name, "dx",
                    [get = get](PathConvArgs&, IO& io, Tensors&) {
                      io.dx.data = get(io).data;
                    }});
  }
  ExpectRows<IO>(
      rows,
      [](Tensors& t) {
        return IO{t.dy.ref(), t.inv.ref(), t.weight.ref(), t.dx.ref()};
      },
      [](const PathConvArgs& a, const IO& io) {
        return ops::PathConvBackwardInput(a, io, ReferenceContext());
      });
}

TEST(PathBadInputTest, ConvBackwardParams) {
  using IO = PathConvBackwardParamsIO;
  std::vector<Row<IO>> rows;
  AddArgRows<IO>(rows);
  AddGenericRows<IO>(rows, "x", [](IO& io) -> TensorRef& { return io.x; },
                     false, {"dweight", "perm"});
  AddIndexRows<IO>(
      rows, "perm", [](IO& io) -> TensorRef& { return io.perm; },
      [](IO& io) -> TensorRef& { return io.x; });
  AddGenericRows<IO>(rows, "dy", [](IO& io) -> TensorRef& { return io.dy; },
                     false, {"dy", "dy"});
  AddGenericRows<IO>(rows, "dweight",
                     [](IO& io) -> TensorRef& { return *io.dweight; }, false,
                     {"dweight", "dweight"});
  AddWeightRows<IO>(rows, "dweight",
                    [](IO& io) -> TensorRef& { return *io.dweight; });
  AddGenericRows<IO>(rows, "dbias",
                     [](IO& io) -> TensorRef& { return *io.dbias; }, false,
                     {"dbias", "dbias"});
  rows.push_back(
      {"nothing requested", "dweight", [](PathConvArgs&, IO& io, Tensors&) {
         io.dweight.reset();
         io.dbias.reset();
       }});
  rows.push_back(
      {"dbias wrong size", "dbias", [](PathConvArgs&, IO& io, Tensors& t) {
         io.dbias = t.Make(DType::kF32, {4});
       }});
  rows.push_back(
      {"dy wrong length", "dy", [](PathConvArgs&, IO& io, Tensors& t) {
         io.dy = t.Make(DType::kF32, {2, 8, 7});
       }});
  rows.push_back(
      {"dy wrong channels", "dy", [](PathConvArgs&, IO& io, Tensors& t) {
         io.dy = t.Make(DType::kF32, {2, 16, 6});
       }});
  // Without dweight, K is unknown: dy's length must be one some K in [1, 14]
  // gives, 1..7.
  rows.push_back({"dbias only, dbias not a multiple of P*C", "dbias",
                  [](PathConvArgs&, IO& io, Tensors& t) {
                    io.dweight.reset();
                    io.dbias = t.Make(DType::kF32, {6});
                  }});
  rows.push_back({"dbias only, dbias rank 2", "dbias",
                  [](PathConvArgs&, IO& io, Tensors& t) {
                    io.dweight.reset();
                    io.dbias = t.Make(DType::kF32, {8, 1});
                  }});
  rows.push_back(
      {"dbias only, dy too long", "dy", [](PathConvArgs&, IO& io, Tensors& t) {
         io.dweight.reset();
         io.dy = t.Make(DType::kF32, {2, 8, 8});
       }});
  rows.push_back(
      {"dbias only, dy empty", "dy", [](PathConvArgs&, IO& io, Tensors& t) {
         io.dweight.reset();
         io.dy = t.Make(DType::kF32, {2, 8, 0});
       }});
  rows.push_back({"dbias only, dy wrong channels", "dy",
                  [](PathConvArgs&, IO& io, Tensors& t) {
                    io.dweight.reset();
                    io.dy = t.Make(DType::kF32, {2, 16, 6});
                  }});
  rows.push_back(
      {"dbias only, dy rank 2", "dy", [](PathConvArgs&, IO& io, Tensors& t) {
         io.dweight.reset();
         io.dy = t.Make(DType::kF32, {2, 48});
       }});
  rows.push_back(
      {"dbias only, dy float64", "dy", [](PathConvArgs&, IO& io, Tensors& t) {
         io.dweight.reset();
         io.dy = t.Make(DType::kF64, {2, 8, 6});
       }});
  for (auto [name, get] : std::vector<std::pair<std::string, Access<IO>>>{
           {"x", [](IO& io) -> TensorRef& { return io.x; }},
           {"perm", [](IO& io) -> TensorRef& { return io.perm; }},
           {"dy", [](IO& io) -> TensorRef& { return io.dy; }}}) {
    rows.push_back({"dweight overlaps " + name, "dweight",
                    [get = get](PathConvArgs&, IO& io, Tensors&) {
                      io.dweight->data = get(io).data;
                    }});
    rows.push_back({"dbias overlaps " + name, "dbias",
                    [get = get](PathConvArgs&, IO& io, Tensors&) {
                      io.dbias->data = get(io).data;
                    }});
  }
  rows.push_back(
      {"dbias overlaps dweight", "dbias", [](PathConvArgs&, IO& io, Tensors&) {
         io.dbias->data = io.dweight->data;
       }});
  ExpectRows<IO>(
      rows,
      [](Tensors& t) {
        return IO{t.dy.ref(), t.x.ref(), t.perm.ref(), t.dweight.ref(),
                  t.dbias.ref()};
      },
      [](const PathConvArgs& a, const IO& io) {
        return ops::PathConvBackwardParams(a, io, ReferenceContext());
      });
}

// A bias-only gradient accepts any dy length a kernel size could produce.
TEST(PathBadInputTest, DbiasOnlyAcceptsEveryReachableLength) {
  for (int64_t out_length = 1; out_length <= 7; ++out_length) {
    Tensors t;
    HostTensor dy(DType::kF32, {2, 8, out_length});
    PathConvBackwardParamsIO io{dy.ref(), t.x.ref(), t.perm.ref(), std::nullopt,
                                t.dbias.ref()};
    EXPECT_TRUE(
        ops::PathConvBackwardParams(ValidArgs(), io, ReferenceContext()).ok())
        << out_length;
  }
}

}  // namespace
}  // namespace tapconv::testing
