#include "ops/tensor_check.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tapconv {

absl::Status ArgError(absl::string_view arg, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(arg, ": ", message));
}

absl::Status CheckedProduct(absl::Span<const int64_t> sizes,
                            absl::string_view what, int64_t* product) {
  int64_t p = 1;
  for (int64_t s : sizes) {
    if (s < 0) return ArgError(what, absl::StrCat("negative size ", s));
    if (s != 0 && p > kMaxIndex / s) {
      return ArgError(
          what, absl::StrCat("sizes ", ShapeString(sizes),
                             " are too large: their product exceeds 2^62"));
    }
    p *= s;
  }
  *product = p;
  return absl::OkStatus();
}

Expect::Expect(const TensorRef& t, absl::string_view name)
    : t_(t), name_(name) {
  if (t.strides.size() != t.shape.size()) {
    Fail(absl::StrCat("has ", t.shape.size(), " sizes but ", t.strides.size(),
                      " strides"));
    return;
  }
  for (int64_t s : t.shape) {
    if (s < 0) {
      Fail(absl::StrCat("negative size in shape ", ShapeString(t.shape)));
      return;
    }
  }
  int64_t numel = 0;
  if (!CheckedProduct(t.shape, name_, &numel).ok()) {
    Fail(absl::StrCat("shape ", ShapeString(t.shape),
                      " has more than 2^62 elements"));
    return;
  }
  if (numel > 0 && t.data == nullptr)
    Fail("has elements but no memory (null data pointer)");
}

void Expect::Fail(std::string message) {
  if (status_.ok()) status_ = ArgError(name_, message);
}

Expect& Expect::Rank(int rank, absl::string_view dims) {
  if (ok() && t_.rank() != rank) {
    Fail(absl::StrCat("expected a ", rank, "-D tensor ", dims, ", got shape ",
                      ShapeString(t_.shape)));
  }
  return *this;
}

Expect& Expect::Shape(absl::Span<const int64_t> shape, absl::string_view dims) {
  if (ok() && !std::equal(shape.begin(), shape.end(), t_.shape.begin(),
                          t_.shape.end())) {
    Fail(absl::StrCat("expected shape ", ShapeString(shape), " ", dims,
                      ", got ", ShapeString(t_.shape)));
  }
  return *this;
}

Expect& Expect::FloatingPoint() {
  if (ok() && !IsFloating(t_.dtype)) {
    Fail(
        absl::StrCat("expected a floating-point dtype (float16, bfloat16, "
                     "float32, float64), got ",
                     DTypeName(t_.dtype)));
  }
  return *this;
}

Expect& Expect::Integer() {
  if (ok() && !IsInteger(t_.dtype)) {
    Fail(absl::StrCat("expected an integer dtype (int32 or int64), got ",
                      DTypeName(t_.dtype)));
  }
  return *this;
}

Expect& Expect::HasDType(DType dtype, absl::string_view reason) {
  if (ok() && t_.dtype != dtype) {
    Fail(absl::StrCat("expected dtype ", DTypeName(dtype), " (", reason,
                      "), got ", DTypeName(t_.dtype)));
  }
  return *this;
}

Expect& Expect::OnDevice(const Device& device, absl::string_view reason) {
  if (ok() && t_.device != device) {
    Fail(absl::StrCat("expected device ", DeviceName(device), " (", reason,
                      "), got ", DeviceName(t_.device)));
  }
  return *this;
}

Expect& Expect::Contiguous() {
  if (ok() && !t_.IsContiguous()) {
    Fail(absl::StrCat("expected a contiguous tensor, got shape ",
                      ShapeString(t_.shape), " with strides ",
                      ShapeString(t_.strides)));
  }
  return *this;
}

namespace {

// Byte range [begin, end) spanned by a tensor with non-negative strides; empty
// if no elements.
std::pair<uintptr_t, uintptr_t> ByteRange(const TensorRef& t) {
  if (t.data == nullptr || t.numel() <= 0) return {0, 0};
  int64_t last = 0;
  for (int i = 0; i < t.rank(); ++i)
    last += (t.shape[i] - 1) * std::max<int64_t>(t.strides[i], 0);
  const uintptr_t begin = reinterpret_cast<uintptr_t>(t.data);
  return {begin, begin + static_cast<uintptr_t>((last + 1) * SizeOf(t.dtype))};
}

}  // namespace

Expect& Expect::DoesNotOverlap(const TensorRef& other,
                               absl::string_view other_name) {
  if (!ok() || t_.device != other.device) return *this;
  const auto a = ByteRange(t_);
  const auto b = ByteRange(other);
  if (a.first < a.second && b.first < b.second && a.first < b.second &&
      b.first < a.second) {
    Fail(absl::StrCat(
        "shares memory with ", other_name,
        "; outputs must not overlap inputs (in-place use is not supported)"));
  }
  return *this;
}

}  // namespace tapconv
