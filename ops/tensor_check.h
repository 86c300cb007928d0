#ifndef TAPCONV_OPS_TENSOR_CHECK_H_
#define TAPCONV_OPS_TENSOR_CHECK_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ops/tensor_ref.h"

namespace tapconv {

// Largest element count or index an op accepts. Kernels index with int64;
// keeping every size below 2^62 leaves headroom for the sums of offsets they
// form.
inline constexpr int64_t kMaxIndex = int64_t{1} << 62;

// Fluent validation of one tensor argument. The first failed expectation is
// kept; its message names the argument, what was expected and what was given:
//   TAPCONV_RETURN_IF_ERROR(Expect(x, "x").Rank(4, "(N, C, H,
//   W)").FloatingPoint().status());
class Expect {
 public:
  // Also checks that the TensorRef is well formed: strides match the rank, no
  // negative size, the element count fits, and memory is given when there are
  // elements.
  Expect(const TensorRef& t, absl::string_view name);

  Expect& Rank(int rank, absl::string_view dims);
  Expect& Shape(absl::Span<const int64_t> shape, absl::string_view dims);
  Expect& FloatingPoint();
  Expect& Integer();
  Expect& HasDType(DType dtype, absl::string_view reason);
  Expect& OnDevice(const Device& device, absl::string_view reason);
  Expect& Contiguous();
  // Outputs must not share memory with inputs: the result would depend on the
  // order in which a backend reads and writes.
  Expect& DoesNotOverlap(const TensorRef& other, absl::string_view other_name);

  bool ok() const { return status_.ok(); }
  absl::Status status() const { return status_; }

 private:
  void Fail(std::string message);

  const TensorRef& t_;
  std::string name_;
  absl::Status status_;
};

// InvalidArgument naming `arg`: "<arg>: <message>".
absl::Status ArgError(absl::string_view arg, absl::string_view message);

// Multiplies sizes, or returns InvalidArgument naming `what` if the product
// exceeds kMaxIndex.
absl::Status CheckedProduct(absl::Span<const int64_t> sizes,
                            absl::string_view what, int64_t* product);

}  // namespace tapconv

#endif  // TAPCONV_OPS_TENSOR_CHECK_H_
