// compat_libtorch113.h: lets gotch v0.9.1's C++ wrapper, which is generated for
// libtorch 2.1, compile and link against Debian's libtorch 1.13.1 (libtorch-dev).
//
// How it is used
//   scripts/setup.sh copies this file beside gotch's wrapper (.deps/gotch/libtch/) and adds
//     #cgo CXXFLAGS: -include ${SRCDIR}/compat_libtorch113.h
//   to the rewritten libtch/lib.go, so g++ reads it before torch_api.cpp. It is only used
//   with libtorch 1.13; the official 2.1 distribution needs no shims.
//
// How it works
//   1. It first includes every libtorch header that torch_api.cpp / torch_api.h include
//      (all are #pragma once), so the later includes in torch_api.cpp are no-ops and the
//      macros at the end of this file cannot rewrite libtorch's own headers.
//   2. The wrapper calls ops as torch::name(...). Namespace torch pulls in namespace at
//      with a using-directive, and qualified lookup stops at the first namespace that
//      declares the name. So for each op we add overloads for, `using at::name;` comes
//      first (otherwise torch::name would hide every at::name overload). Ops that 1.13
//      lacks entirely are simply declared in namespace torch.
//   3. Shims come in three kinds:
//        - signature adapters: 2.1 changed the arguments of an op 1.13 has; the shim maps
//          the 2.1 arguments onto 1.13's op (e.g. a Scalar correction for var/std);
//        - rebuilt ops: ops new in 2.x that can be written exactly with 1.13 ops;
//        - not available: ops that need kernels 1.13 does not have (CUDA/MPS/XLA-only
//          kernels, fp8, cuSPARSELt, ...). They throw
//            std::runtime_error("<op> is not available in libtorch 1.13")
//          which gotch's PROTECT macro turns into an ordinary Go error.
//   4. Calls on the tensor object (self->to_dense(dtype, masked_grad), ...) cannot be
//      overloaded from outside at::Tensor, so function-like macros, defined LAST, rewrite
//        self->name(args)  into  self->getIntrusivePtr() ->* compat113::name_m(args)
//      name_m binds the arguments; the non-member operator->* rebuilds an at::Tensor that
//      shares the same TensorImpl (so in-place methods such as squeeze_ act on self) and
//      calls the shim.
//
// Every shim carries a comment saying what changed between 1.13 and 2.1.
#pragma once

#include <ATen/core/interned_strings.h>
#include <ATen/autocast_mode.h>
#include <ATen/SparseTensorImpl.h>
#include <c10/core/WrapDimMinimal.h>
#include <torch/csrc/autograd/engine.h>
#include <torch/csrc/jit/passes/fixup_trace_scope_blocks.h>
#include <torch/csrc/jit/passes/normalize_ops.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

// ============================================================================================
// Helpers
// ============================================================================================
namespace compat113 {

[[noreturn]] inline void unavailable(const char* op) {
  throw ::std::runtime_error(::std::string(op) + " is not available in libtorch 1.13");
}

// A tuple of N tensors, for the return types of ops that only throw.
template <class T, ::std::size_t> using repeat_t = T;
template <::std::size_t... I>
auto tensor_tuple_of(::std::index_sequence<I...>) -> ::std::tuple<repeat_t<at::Tensor, I>...>;
template <::std::size_t N>
using Tensors = decltype(tensor_tuple_of(::std::make_index_sequence<N>{}));

// Copies a freshly computed result into an out= tensor, resizing it first (the
// behaviour of 2.1's generated out= variants).
inline at::Tensor& write_out(at::Tensor& out, const at::Tensor& result) {
  if (!out.sizes().equals(result.sizes())) out.resize_(result.sizes());
  out.copy_(result);
  return out;
}

// Reads a 1-D integer tensor (lengths, offsets) into a vector, for 1.13 ops that take an
// int[] where 2.1 takes a Tensor.
inline ::std::vector<int64_t> int_list(const at::Tensor& t) {
  at::Tensor c = t.to(at::kCPU, at::kLong).contiguous();
  const int64_t* p = c.data_ptr<int64_t>();
  return ::std::vector<int64_t>(p, p + c.numel());
}

// 2.1 takes the var/std correction as a Scalar (it may be fractional); 1.13 as an
// optional<int64_t>. Returns true and sets `out` when the Scalar holds a whole number.
inline bool whole_correction(const at::Scalar& c, int64_t& out) {
  TORCH_CHECK(!c.isComplex(), "var/std: correction must be a real number");
  if (c.isIntegral(/*includeBool=*/true)) {
    out = c.toLong();
    return true;
  }
  const double d = c.toDouble();
  if (::std::isfinite(d) && ::std::floor(d) == d && ::std::fabs(d) < 9.0e15) {
    out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

// Number of elements each output of a reduction over `dim` combines.
inline double reduced_count(const at::Tensor& self, at::OptionalIntArrayRef dim) {
  if (!dim.has_value() || dim->empty()) return static_cast<double>(self.numel());
  double n = 1.0;
  for (int64_t d : *dim) n *= static_cast<double>(self.size(d));
  return n;
}

// Variance with a fractional correction c: sum((x - mean)^2) / max(0, N - c), i.e. the
// population variance (correction 0) times N / max(0, N - c), as 2.1 defines it.
// Returns (var, mean).
inline ::std::tuple<at::Tensor, at::Tensor> var_mean_fractional(const at::Tensor& self,
                                                                at::OptionalIntArrayRef dim,
                                                                double correction, bool keepdim) {
  auto vm = at::var_mean(self, dim, c10::optional<int64_t>(0), keepdim);
  const double n = reduced_count(self, dim);
  const double factor = n / ::std::max(0.0, n - correction);
  return ::std::make_tuple(::std::get<0>(vm) * factor, ::std::get<1>(vm));
}

// 2.1's squeeze.dims: wraps the dims, rejects duplicates, and squeezes those of size 1.
// Returned in descending order so that squeezing one dim keeps the others' indices valid.
inline ::std::vector<int64_t> squeeze_dims(const at::Tensor& self, at::IntArrayRef dims) {
  const int64_t ndim = self.dim();
  ::std::vector<int64_t> wrapped;
  for (int64_t d : dims) {
    const int64_t w = c10::maybe_wrap_dim(d, ndim);
    TORCH_CHECK(::std::find(wrapped.begin(), wrapped.end(), w) == wrapped.end(), "dim ", w,
                " appears multiple times in the list of dims");
    wrapped.push_back(w);
  }
  ::std::sort(wrapped.begin(), wrapped.end(), ::std::greater<int64_t>());
  return wrapped;
}

inline at::Tensor squeeze_dims_view(const at::Tensor& self, at::IntArrayRef dims) {
  // With no dims 2.1 still returns a new view, not self itself.
  at::Tensor r = self.alias();
  for (int64_t d : squeeze_dims(self, dims)) r = r.squeeze(d);
  return r;
}

// 2.1's sparse constructors take is_coalesced and set the result's coalesced flag to it.
// Set directly on the impl so that no autograd node is recorded for it.
inline at::Tensor& set_coalesced_flag(at::Tensor& t, bool is_coalesced) {
  TORCH_CHECK(t.is_sparse(), "is_coalesced needs a sparse COO tensor");
  static_cast<at::SparseTensorImpl*>(t.unsafeGetTensorImpl())->set_coalesced(is_coalesced);
  return t;
}

// 2.1's _to_sparse / to_sparse(layout, blocksize, dense_dim): conversion to any sparse
// layout. 1.13 has one method per layout and no dense_dim argument; dense_dim maps onto
// sparse_dim for COO and must be 0 for the compressed layouts.
inline void no_dense_dim(const char* op, c10::optional<int64_t> dense_dim) {
  if (dense_dim.has_value() && *dense_dim != 0)
    unavailable((::std::string(op) + " with a nonzero dense_dim").c_str());
}

inline at::Tensor to_sparse_layout(const at::Tensor& t, c10::optional<at::Layout> layout,
                                   at::OptionalIntArrayRef blocksize,
                                   c10::optional<int64_t> dense_dim) {
  const at::Layout to = layout.value_or(at::kSparse);
  switch (to) {
    case at::kSparse:
      TORCH_CHECK(!blocksize.has_value(), "to_sparse: a blocksize is not used for a COO result");
      return dense_dim.has_value() ? t.to_sparse(t.dim() - *dense_dim) : t.to_sparse();
    case at::kSparseCsr:
    case at::kSparseCsc:
      TORCH_CHECK(!blocksize.has_value(), "to_sparse: a blocksize is not used for CSR/CSC");
      no_dense_dim("to_sparse", dense_dim);
      return to == at::kSparseCsr ? t.to_sparse_csr() : t.to_sparse_csc();
    case at::kSparseBsr:
    case at::kSparseBsc:
      TORCH_CHECK(blocksize.has_value(), "to_sparse: BSR/BSC need a blocksize");
      no_dense_dim("to_sparse", dense_dim);
      return to == at::kSparseBsr ? t.to_sparse_bsr(*blocksize) : t.to_sparse_bsc(*blocksize);
    default:
      TORCH_CHECK(false, "to_sparse: unsupported target layout ", to);
  }
}

inline at::Tensor& to_sparse_layout_out(at::Tensor& out, const at::Tensor& t,
                                        c10::optional<at::Layout> layout,
                                        at::OptionalIntArrayRef blocksize,
                                        c10::optional<int64_t> dense_dim) {
  const at::Layout to = layout.value_or(at::kSparse);
  switch (to) {
    case at::kSparse:
      TORCH_CHECK(!blocksize.has_value(), "to_sparse: a blocksize is not used for a COO result");
      return dense_dim.has_value() ? at::to_sparse_out(out, t, t.dim() - *dense_dim)
                                   : at::to_sparse_out(out, t);
    case at::kSparseCsr:
    case at::kSparseCsc:
      TORCH_CHECK(!blocksize.has_value(), "to_sparse: a blocksize is not used for CSR/CSC");
      no_dense_dim("_to_sparse_out", dense_dim);
      return to == at::kSparseCsr ? at::to_sparse_csr_out(out, t) : at::to_sparse_csc_out(out, t);
    case at::kSparseBsr:
    case at::kSparseBsc:
      TORCH_CHECK(blocksize.has_value(), "to_sparse: BSR/BSC need a blocksize");
      no_dense_dim("_to_sparse_out", dense_dim);
      return to == at::kSparseBsr ? at::to_sparse_bsr_out(out, t, *blocksize)
                                  : at::to_sparse_bsc_out(out, t, *blocksize);
    default:
      TORCH_CHECK(false, "to_sparse: unsupported target layout ", to);
  }
}

// 2.1's to_dense(dtype, masked_grad): masked_grad=true (and any strided/mkldnn input) is
// 1.13's to_dense, whose gradient is masked to the input's sparsity pattern. With
// masked_grad=false 2.1 passes the whole gradient back, converted to the input's sparse
// layout; this autograd function does that on 1.13.
struct UnmaskedToDense : public torch::autograd::Function<UnmaskedToDense> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input,
                            c10::optional<at::ScalarType> dtype) {
    ctx->saved_data["layout"] = static_cast<int64_t>(input.layout());
    ctx->saved_data["sparse_dim"] = input.layout() == at::kSparse ? input.sparse_dim() : 0;
    return input.to_dense(dtype);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto layout = static_cast<at::Layout>(ctx->saved_data["layout"].toInt());
    const at::Tensor& g = grads[0];
    at::Tensor gi;
    if (g.defined()) {
      if (layout == at::kSparse) gi = g.to_sparse(ctx->saved_data["sparse_dim"].toInt());
      else if (layout == at::kSparseCsr) gi = g.to_sparse_csr();
      else gi = g.to_sparse_csc();
    }
    return {gi, at::Tensor()};
  }
};

inline at::Tensor to_dense_masked(const at::Tensor& t, c10::optional<at::ScalarType> dtype,
                                  bool masked_grad) {
  const at::Layout l = t.layout();
  const bool sparse = l == at::kSparse || l == at::kSparseCsr || l == at::kSparseCsc ||
                      l == at::kSparseBsr || l == at::kSparseBsc;
  if (masked_grad || !sparse || !t.requires_grad() || !at::GradMode::is_enabled())
    return t.to_dense(dtype);
  if (l == at::kSparseBsr || l == at::kSparseBsc)
    unavailable("to_dense(masked_grad=false) of a BSR/BSC tensor that requires grad");
  return UnmaskedToDense::apply(t, dtype);
}

// ---- method redirection (see 4. at the top) --------------------------------------------
template <class F>
struct BoundMethod {
  F call;
};
template <class F>
BoundMethod<F> bind_method(F f) {
  return BoundMethod<F>{::std::move(f)};
}
template <class F>
at::Tensor operator->*(const c10::intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>& impl,
                       BoundMethod<F> m) {
  at::Tensor self(impl);  // shares impl: in-place methods change the caller's tensor
  return m.call(self);
}

// Per-method shims. The overloads with 1.13's own argument lists pass straight through, so
// the macros are harmless for the calls that did not change.

// squeeze_: 2.1 adds squeeze_(int[] dims).
inline at::Tensor squeeze_inplace(at::Tensor& t) { return t.squeeze_(); }
inline at::Tensor squeeze_inplace(at::Tensor& t, int64_t d) { return t.squeeze_(d); }
inline at::Tensor squeeze_inplace(at::Tensor& t, at::Dimname d) { return t.squeeze_(d); }
inline at::Tensor squeeze_inplace(at::Tensor& t, at::IntArrayRef dims) {
  for (int64_t d : squeeze_dims(t, dims)) t.squeeze_(d);
  return t;
}

// to_dense / _to_dense: 2.1 adds the masked_grad argument.
inline at::Tensor to_dense_method(at::Tensor& t) { return t.to_dense(); }
inline at::Tensor to_dense_method(at::Tensor& t, c10::optional<at::ScalarType> dtype) {
  return t.to_dense(dtype);
}
inline at::Tensor to_dense_method(at::Tensor& t, c10::optional<at::ScalarType> dtype,
                                  bool masked_grad) {
  return to_dense_masked(t, dtype, masked_grad);
}

// to_sparse / _to_sparse: 2.1 adds to_sparse(layout, blocksize, dense_dim) and moves the
// conversions behind the new _to_sparse* methods.
inline at::Tensor to_sparse_method(at::Tensor& t) { return t.to_sparse(); }
inline at::Tensor to_sparse_method(at::Tensor& t, int64_t sparse_dim) {
  return t.to_sparse(sparse_dim);
}
inline at::Tensor to_sparse_method(at::Tensor& t, c10::optional<at::Layout> layout,
                                   at::OptionalIntArrayRef blocksize,
                                   c10::optional<int64_t> dense_dim) {
  return to_sparse_layout(t, layout, blocksize, dense_dim);
}

// to_sparse_csr/csc/bsr/bsc and their _to_sparse_* twins: 2.1 adds a dense_dim argument.
inline at::Tensor to_sparse_csr_method(at::Tensor& t, c10::optional<int64_t> dense_dim = c10::nullopt) {
  no_dense_dim("to_sparse_csr", dense_dim);
  return t.to_sparse_csr();
}
inline at::Tensor to_sparse_csc_method(at::Tensor& t, c10::optional<int64_t> dense_dim = c10::nullopt) {
  no_dense_dim("to_sparse_csc", dense_dim);
  return t.to_sparse_csc();
}
inline at::Tensor to_sparse_bsr_method(at::Tensor& t, at::IntArrayRef blocksize,
                                       c10::optional<int64_t> dense_dim = c10::nullopt) {
  no_dense_dim("to_sparse_bsr", dense_dim);
  return t.to_sparse_bsr(blocksize);
}
inline at::Tensor to_sparse_bsc_method(at::Tensor& t, at::IntArrayRef blocksize,
                                       c10::optional<int64_t> dense_dim = c10::nullopt) {
  no_dense_dim("to_sparse_bsc", dense_dim);
  return t.to_sparse_bsc(blocksize);
}

// _sparse_mask_projection: new in 2.1 (backward helper of sparse_mask); no 1.13 kernel.
template <class... A>
at::Tensor sparse_mask_projection_method(at::Tensor&, A&&...) {
  unavailable("_sparse_mask_projection");
}

#define COMPAT113_BINDER(binder, fn)                                                     \
  template <class... A>                                                                  \
  auto binder(A... a) {                                                                  \
    return bind_method([a...](at::Tensor& t) { return fn(t, a...); });                   \
  }
COMPAT113_BINDER(squeeze_m, squeeze_inplace)
COMPAT113_BINDER(to_dense_m, to_dense_method)
COMPAT113_BINDER(to_sparse_m, to_sparse_method)
COMPAT113_BINDER(to_sparse_csr_m, to_sparse_csr_method)
COMPAT113_BINDER(to_sparse_csc_m, to_sparse_csc_method)
COMPAT113_BINDER(to_sparse_bsr_m, to_sparse_bsr_method)
COMPAT113_BINDER(to_sparse_bsc_m, to_sparse_bsc_method)
COMPAT113_BINDER(sparse_mask_projection_m, sparse_mask_projection_method)
#undef COMPAT113_BINDER

}  // namespace compat113

namespace torch {

// ============================================================================================
// Reductions: var / std / var_mean / std_mean
// 2.1 takes `Scalar? correction`; 1.13 takes `int? correction`. Whole numbers map onto
// 1.13's op directly; a fractional correction is rebuilt from the population variance.
// ============================================================================================
using at::std;
using at::std_mean;
using at::std_mean_out;
using at::std_out;
using at::var;
using at::var_mean;
using at::var_mean_out;
using at::var_out;

inline at::Tensor var(const at::Tensor& self, at::OptionalIntArrayRef dim,
                      const at::Scalar& correction, bool keepdim = false) {
  int64_t c = 0;
  if (compat113::whole_correction(correction, c))
    return at::var(self, dim, c10::optional<int64_t>(c), keepdim);
  return ::std::get<0>(compat113::var_mean_fractional(self, dim, correction.toDouble(), keepdim));
}

inline at::Tensor& var_out(at::Tensor& out, const at::Tensor& self, at::OptionalIntArrayRef dim,
                           const at::Scalar& correction, bool keepdim = false) {
  int64_t c = 0;
  if (compat113::whole_correction(correction, c))
    return at::var_out(out, self, dim, c10::optional<int64_t>(c), keepdim);
  return compat113::write_out(out, torch::var(self, dim, correction, keepdim));
}

inline at::Tensor std(const at::Tensor& self, at::OptionalIntArrayRef dim,
                      const at::Scalar& correction, bool keepdim = false) {
  int64_t c = 0;
  if (compat113::whole_correction(correction, c))
    return at::std(self, dim, c10::optional<int64_t>(c), keepdim);
  return ::std::get<0>(compat113::var_mean_fractional(self, dim, correction.toDouble(), keepdim))
      .sqrt();
}

inline at::Tensor& std_out(at::Tensor& out, const at::Tensor& self, at::OptionalIntArrayRef dim,
                           const at::Scalar& correction, bool keepdim = false) {
  int64_t c = 0;
  if (compat113::whole_correction(correction, c))
    return at::std_out(out, self, dim, c10::optional<int64_t>(c), keepdim);
  return compat113::write_out(out, torch::std(self, dim, correction, keepdim));
}

inline ::std::tuple<at::Tensor, at::Tensor> var_mean(const at::Tensor& self,
                                                     at::OptionalIntArrayRef dim,
                                                     const at::Scalar& correction,
                                                     bool keepdim = false) {
  int64_t c = 0;
  if (compat113::whole_correction(correction, c))
    return at::var_mean(self, dim, c10::optional<int64_t>(c), keepdim);
  return compat113::var_mean_fractional(self, dim, correction.toDouble(), keepdim);
}

inline ::std::tuple<at::Tensor&, at::Tensor&> var_mean_out(at::Tensor& out0, at::Tensor& out1,
                                                           const at::Tensor& self,
                                                           at::OptionalIntArrayRef dim,
                                                           const at::Scalar& correction,
                                                           bool keepdim = false) {
  int64_t c = 0;
  if (compat113::whole_correction(correction, c))
    return at::var_mean_out(out0, out1, self, dim, c10::optional<int64_t>(c), keepdim);
  auto r = compat113::var_mean_fractional(self, dim, correction.toDouble(), keepdim);
  compat113::write_out(out0, ::std::get<0>(r));
  compat113::write_out(out1, ::std::get<1>(r));
  return ::std::forward_as_tuple(out0, out1);
}

inline ::std::tuple<at::Tensor, at::Tensor> std_mean(const at::Tensor& self,
                                                     at::OptionalIntArrayRef dim,
                                                     const at::Scalar& correction,
                                                     bool keepdim = false) {
  int64_t c = 0;
  if (compat113::whole_correction(correction, c))
    return at::std_mean(self, dim, c10::optional<int64_t>(c), keepdim);
  auto r = compat113::var_mean_fractional(self, dim, correction.toDouble(), keepdim);
  return ::std::make_tuple(::std::get<0>(r).sqrt(), ::std::get<1>(r));
}

inline ::std::tuple<at::Tensor&, at::Tensor&> std_mean_out(at::Tensor& out0, at::Tensor& out1,
                                                           const at::Tensor& self,
                                                           at::OptionalIntArrayRef dim,
                                                           const at::Scalar& correction,
                                                           bool keepdim = false) {
  int64_t c = 0;
  if (compat113::whole_correction(correction, c))
    return at::std_mean_out(out0, out1, self, dim, c10::optional<int64_t>(c), keepdim);
  auto r = torch::std_mean(self, dim, correction, keepdim);
  compat113::write_out(out0, ::std::get<0>(r));
  compat113::write_out(out1, ::std::get<1>(r));
  return ::std::forward_as_tuple(out0, out1);
}

// max/min: 2.1 adds the unary out= overloads max.unary_out / min.unary_out (reduce all
// elements into a 0-dim out). Rebuilt from 1.13's all-element max/min.
using at::max_out;
using at::min_out;
inline at::Tensor& max_out(at::Tensor& out, const at::Tensor& self) {
  return compat113::write_out(out, at::max(self));
}
inline at::Tensor& min_out(at::Tensor& out, const at::Tensor& self) {
  return compat113::write_out(out, at::min(self));
}

// _is_all_true / _is_any_true: new in 2.1 (bool tensor -> 0-dim bool). Rebuilt with all/any.
inline at::Tensor _is_all_true(const at::Tensor& self) {
  TORCH_CHECK(self.scalar_type() == at::kBool, "_is_all_true expects a bool tensor");
  return self.all();
}
inline at::Tensor _is_any_true(const at::Tensor& self) {
  TORCH_CHECK(self.scalar_type() == at::kBool, "_is_any_true expects a bool tensor");
  return self.any();
}

// nonzero_static: new in 2.1. nonzero() cut or padded with fill_value to exactly `size` rows.
inline at::Tensor nonzero_static(const at::Tensor& self, int64_t size, int64_t fill_value = -1) {
  TORCH_CHECK(size >= 0, "nonzero_static: size must be non-negative, got ", size);
  at::Tensor nz = at::nonzero(self);
  const int64_t n = nz.size(0);
  if (n >= size) return nz.narrow(0, 0, size).clone();
  at::Tensor pad = at::full({size - n, nz.size(1)}, fill_value, nz.options());
  return at::cat({nz, pad}, 0);
}
inline at::Tensor& nonzero_static_out(at::Tensor& out, const at::Tensor& self, int64_t size,
                                      int64_t fill_value = -1) {
  return compat113::write_out(out, torch::nonzero_static(self, size, fill_value));
}

// ============================================================================================
// Shape ops
// ============================================================================================

// squeeze / squeeze_copy: 2.1 adds the squeeze.dims overload (a list of dims). Rebuilt by
// squeezing the listed dims one at a time, highest first. (squeeze_ is a method: see the
// macros at the end.)
using at::squeeze;
using at::squeeze_copy;
using at::squeeze_copy_out;
inline at::Tensor squeeze(const at::Tensor& self, at::IntArrayRef dims) {
  return compat113::squeeze_dims_view(self, dims);
}
inline at::Tensor squeeze_copy(const at::Tensor& self, at::IntArrayRef dims) {
  return compat113::squeeze_dims_view(self, dims).clone(at::MemoryFormat::Contiguous);
}
inline at::Tensor& squeeze_copy_out(at::Tensor& out, const at::Tensor& self, at::IntArrayRef dims) {
  return compat113::write_out(out, compat113::squeeze_dims_view(self, dims));
}

// _reshape_copy: new in 2.1 (reshape that always copies). Rebuilt as reshape + clone.
inline at::Tensor _reshape_copy(const at::Tensor& self, at::IntArrayRef size) {
  return self.reshape(size).clone(at::MemoryFormat::Contiguous);
}

// empty_permuted: new in 2.1. An uninitialised tensor of logical shape `size` whose memory
// is laid out in the dim order `physical_layout`: allocate the physical shape, then permute
// back.
inline at::Tensor empty_permuted(at::IntArrayRef size, at::IntArrayRef physical_layout,
                                 at::TensorOptions options = {}) {
  const int64_t dim = static_cast<int64_t>(size.size());
  TORCH_CHECK(static_cast<int64_t>(physical_layout.size()) == dim,
              "empty_permuted: physical_layout must have ", dim, " entries");
  ::std::vector<int64_t> phys(dim), inverse(dim, -1);
  for (int64_t i = 0; i < dim; ++i) {
    const int64_t p = physical_layout[i];
    TORCH_CHECK(p >= 0 && p < dim && inverse[p] == -1,
                "empty_permuted: physical_layout is not a permutation");
    phys[i] = size[p];
    inverse[p] = i;
  }
  return at::empty(phys, options).permute(inverse);
}
inline at::Tensor& empty_permuted_out(at::Tensor& out, at::IntArrayRef size,
                                      at::IntArrayRef physical_layout) {
  torch::empty_permuted(size, physical_layout, out.options());  // argument checks
  out.resize_(size);
  return out;
}

// ============================================================================================
// Indexing
// ============================================================================================

// _unsafe_index / _unsafe_index_put: new in 2.1; index / index_put without bounds checks
// (the checks only cost time). Rebuilt with index / index_put.
inline at::Tensor _unsafe_index(const at::Tensor& self,
                                const c10::List<c10::optional<at::Tensor>>& indices) {
  return at::index(self, indices);
}
inline at::Tensor _unsafe_index_put(const at::Tensor& self,
                                    const c10::List<c10::optional<at::Tensor>>& indices,
                                    const at::Tensor& values, bool accumulate = false) {
  return at::index_put(self, indices, values, accumulate);
}

// ============================================================================================
// Normalisation, activations, pooling, losses
// ============================================================================================

// _native_batch_norm_legit*: new in 2.x, the functionalisation-friendly split of
// native_batch_norm (with/without running stats, functional, no-training). Rebuilt with
// native_batch_norm / native_batch_norm_out.
inline ::std::tuple<at::Tensor, at::Tensor, at::Tensor> _native_batch_norm_legit(
    const at::Tensor& input, const c10::optional<at::Tensor>& weight,
    const c10::optional<at::Tensor>& bias, const at::Tensor& running_mean,
    const at::Tensor& running_var, bool training, double momentum, double eps) {
  return at::native_batch_norm(input, weight, bias, running_mean, running_var, training,
                               momentum, eps);
}
inline ::std::tuple<at::Tensor, at::Tensor, at::Tensor> _native_batch_norm_legit(
    const at::Tensor& input, const c10::optional<at::Tensor>& weight,
    const c10::optional<at::Tensor>& bias, bool training, double momentum, double eps) {
  return at::native_batch_norm(input, weight, bias, c10::nullopt, c10::nullopt, training,
                               momentum, eps);
}
inline ::std::tuple<at::Tensor&, at::Tensor&, at::Tensor&> _native_batch_norm_legit_out(
    at::Tensor& out, at::Tensor& save_mean, at::Tensor& save_invstd, const at::Tensor& input,
    const c10::optional<at::Tensor>& weight, const c10::optional<at::Tensor>& bias,
    const at::Tensor& running_mean, const at::Tensor& running_var, bool training,
    double momentum, double eps) {
  return at::native_batch_norm_out(out, save_mean, save_invstd, input, weight, bias,
                                   running_mean, running_var, training, momentum, eps);
}
inline ::std::tuple<at::Tensor&, at::Tensor&, at::Tensor&> _native_batch_norm_legit_out(
    at::Tensor& out, at::Tensor& save_mean, at::Tensor& save_invstd, const at::Tensor& input,
    const c10::optional<at::Tensor>& weight, const c10::optional<at::Tensor>& bias,
    bool training, double momentum, double eps) {
  return at::native_batch_norm_out(out, save_mean, save_invstd, input, weight, bias,
                                   c10::nullopt, c10::nullopt, training, momentum, eps);
}
// Functional form: leaves the running stats alone and returns updated copies of them.
inline ::std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>
_native_batch_norm_legit_functional(const at::Tensor& input,
                                    const c10::optional<at::Tensor>& weight,
                                    const c10::optional<at::Tensor>& bias,
                                    const at::Tensor& running_mean, const at::Tensor& running_var,
                                    bool training, double momentum, double eps) {
  at::Tensor rm = running_mean.clone();
  at::Tensor rv = running_var.clone();
  auto r = at::native_batch_norm(input, weight, bias, rm, rv, training, momentum, eps);
  return ::std::make_tuple(::std::get<0>(r), ::std::get<1>(r), ::std::get<2>(r), rm, rv);
}
inline ::std::tuple<at::Tensor, at::Tensor, at::Tensor> _native_batch_norm_legit_no_training(
    const at::Tensor& input, const c10::optional<at::Tensor>& weight,
    const c10::optional<at::Tensor>& bias, const at::Tensor& running_mean,
    const at::Tensor& running_var, double momentum, double eps) {
  return at::native_batch_norm(input, weight, bias, running_mean, running_var,
                               /*training=*/false, momentum, eps);
}
inline ::std::tuple<at::Tensor&, at::Tensor&, at::Tensor&> _native_batch_norm_legit_no_training_out(
    at::Tensor& out0, at::Tensor& out1, at::Tensor& out2, const at::Tensor& input,
    const c10::optional<at::Tensor>& weight, const c10::optional<at::Tensor>& bias,
    const at::Tensor& running_mean, const at::Tensor& running_var, double momentum, double eps) {
  return at::native_batch_norm_out(out0, out1, out2, input, weight, bias, running_mean,
                                   running_var, /*training=*/false, momentum, eps);
}

// _prelu_kernel / _prelu_kernel_backward: new in 2.1 (prelu became composite over them).
// The kernel is x > 0 ? x : w * x with w broadcast over x; the backward returns the
// unreduced (broadcast-shaped) weight gradient, like 2.1's kernel.
inline at::Tensor _prelu_kernel(const at::Tensor& self, const at::Tensor& weight) {
  return at::where(self > 0, self, weight * self);
}
inline ::std::tuple<at::Tensor, at::Tensor> _prelu_kernel_backward(const at::Tensor& grad_output,
                                                                   const at::Tensor& self,
                                                                   const at::Tensor& weight) {
  at::Tensor positive = self > 0;
  at::Tensor grad_self = at::where(positive, grad_output, weight * grad_output);
  at::Tensor grad_weight = at::where(positive, at::zeros_like(self), self * grad_output);
  return ::std::make_tuple(grad_self, grad_weight);
}

// max_pool2d_backward: new in 2.1 (an MPS/oneDNN kernel without indices). Rebuilt: recompute
// the argmax indices with max_pool2d_with_indices and use its backward.
inline at::Tensor max_pool2d_backward(const at::Tensor& grad_output, const at::Tensor& self,
                                      at::IntArrayRef kernel_size, at::IntArrayRef stride = {},
                                      at::IntArrayRef padding = 0, at::IntArrayRef dilation = 1,
                                      bool ceil_mode = false) {
  at::Tensor indices = ::std::get<1>(
      at::max_pool2d_with_indices(self, kernel_size, stride, padding, dilation, ceil_mode));
  return at::max_pool2d_with_indices_backward(grad_output, self, kernel_size, stride, padding,
                                              dilation, ceil_mode, indices);
}
inline at::Tensor& max_pool2d_backward_out(at::Tensor& out, const at::Tensor& grad_output,
                                           const at::Tensor& self, at::IntArrayRef kernel_size,
                                           at::IntArrayRef stride, at::IntArrayRef padding,
                                           at::IntArrayRef dilation, bool ceil_mode) {
  return compat113::write_out(out, torch::max_pool2d_backward(grad_output, self, kernel_size,
                                                              stride, padding, dilation, ceil_mode));
}

// quantized_max_pool3d: new in 2.1 (1.13 has the 1d/2d ones). For per-tensor affine
// quantisation max pooling commutes with (de)quantisation, so dequantize -> max_pool3d ->
// quantize with the same parameters gives the same integers.
inline at::Tensor quantized_max_pool3d(const at::Tensor& self, at::IntArrayRef kernel_size,
                                       at::IntArrayRef stride = {}, at::IntArrayRef padding = 0,
                                       at::IntArrayRef dilation = 1, bool ceil_mode = false) {
  TORCH_CHECK(self.is_quantized() && self.qscheme() == at::kPerTensorAffine,
              "quantized_max_pool3d: expected a per-tensor affine quantized tensor");
  at::Tensor pooled =
      at::max_pool3d(self.dequantize(), kernel_size, stride, padding, dilation, ceil_mode);
  return at::quantize_per_tensor(pooled, self.q_scale(), self.q_zero_point(), self.scalar_type());
}
inline at::Tensor& quantized_max_pool3d_out(at::Tensor& out, const at::Tensor& self,
                                            at::IntArrayRef kernel_size, at::IntArrayRef stride,
                                            at::IntArrayRef padding, at::IntArrayRef dilation,
                                            bool ceil_mode) {
  return compat113::write_out(
      out, torch::quantized_max_pool3d(self, kernel_size, stride, padding, dilation, ceil_mode));
}

// _ctc_loss_out: 2.1 adds the _ctc_loss.Tensor_out overload (lengths as tensors); 1.13's
// out= variant takes int[] lengths, which is what the tensor form reads them into anyway.
using at::_ctc_loss_out;
inline ::std::tuple<at::Tensor&, at::Tensor&> _ctc_loss_out(
    at::Tensor& out0, at::Tensor& out1, const at::Tensor& log_probs, const at::Tensor& targets,
    const at::Tensor& input_lengths, const at::Tensor& target_lengths, int64_t blank = 0,
    bool zero_infinity = false) {
  return at::_ctc_loss_out(out0, out1, log_probs, targets, compat113::int_list(input_lengths),
                           compat113::int_list(target_lengths), blank, zero_infinity);
}

// ============================================================================================
// Matrix products
// ============================================================================================

// _int_mm: new in 2.1 (int8 x int8 -> int32 matmul, a CUDA kernel there). Rebuilt exactly
// by widening to int32 before mm.
inline at::Tensor _int_mm(const at::Tensor& self, const at::Tensor& mat2) {
  TORCH_CHECK(self.dim() == 2 && mat2.dim() == 2, "_int_mm: expected 2-D tensors");
  TORCH_CHECK(self.scalar_type() == at::kChar && mat2.scalar_type() == at::kChar,
              "_int_mm: expected int8 tensors");
  return at::mm(self.to(at::kInt), mat2.to(at::kInt));
}
inline at::Tensor& _int_mm_out(at::Tensor& out, const at::Tensor& self, const at::Tensor& mat2) {
  return compat113::write_out(out, torch::_int_mm(self, mat2));
}

// _scaled_mm / _scaled_mm_out: new in 2.1, fp8 matmul on CUDA (sm89+). Not available.
template <class... A>
compat113::Tensors<2> _scaled_mm(A&&...) {
  compat113::unavailable("_scaled_mm");
}
template <class... A>
compat113::Tensors<2> _scaled_mm_out(A&&...) {
  compat113::unavailable("_scaled_mm_out");
}

// mkldnn_reorder_conv2d_weight: 2.1 adds `int[]? input_size` (a hint oneDNN uses to pick
// the blocked weight format). The reordered weight holds the same values either way, so the
// hint is dropped.
using at::mkldnn_reorder_conv2d_weight;
using at::mkldnn_reorder_conv2d_weight_out;
inline at::Tensor mkldnn_reorder_conv2d_weight(const at::Tensor& self, at::IntArrayRef padding,
                                               at::IntArrayRef stride, at::IntArrayRef dilation,
                                               int64_t groups, at::OptionalIntArrayRef input_size) {
  (void)input_size;
  return at::mkldnn_reorder_conv2d_weight(self, padding, stride, dilation, groups);
}
inline at::Tensor& mkldnn_reorder_conv2d_weight_out(at::Tensor& out, const at::Tensor& self,
                                                    at::IntArrayRef padding,
                                                    at::IntArrayRef stride,
                                                    at::IntArrayRef dilation, int64_t groups,
                                                    at::OptionalIntArrayRef input_size) {
  (void)input_size;
  return at::mkldnn_reorder_conv2d_weight_out(out, self, padding, stride, dilation, groups);
}

// ============================================================================================
// Attention
// ============================================================================================

// _scaled_dot_product_attention_math: 2.1 changed the arguments to
// (attn_mask, dropout_p, is_causal, dropout_mask, scale) and always returns the weights;
// 1.13's has (attn_mask, dropout_p, need_attn_weights, is_causal). Rebuilt from the
// definition: softmax(q k^T * scale + mask) v, with the scale split as sqrt(scale) on q and
// k, a boolean mask turned into an additive 0/-inf mask, and a causal mask = lower triangle.
using at::_scaled_dot_product_attention_math;
inline ::std::tuple<at::Tensor, at::Tensor> _scaled_dot_product_attention_math(
    const at::Tensor& query, const at::Tensor& key, const at::Tensor& value,
    const c10::optional<at::Tensor>& attn_mask, double dropout_p, bool is_causal,
    const c10::optional<at::Tensor>& dropout_mask, c10::optional<double> scale) {
  const bool has_mask = attn_mask.has_value() && attn_mask->defined();
  TORCH_CHECK(!(has_mask && is_causal),
              "scaled_dot_product_attention: an explicit attn_mask must not be set with is_causal");
  const double s = scale.has_value() ? *scale : 1.0 / ::std::sqrt(static_cast<double>(query.size(-1)));
  const double root = ::std::sqrt(::std::fabs(s));
  at::Tensor q = query * (s < 0 ? -root : root);
  at::Tensor k = key * root;
  at::Tensor attn = at::matmul(q, k.transpose(-2, -1));
  at::Tensor mask;
  if (is_causal) {
    mask = at::ones({query.size(-2), key.size(-2)}, query.options().dtype(at::kBool)).tril();
  } else if (has_mask) {
    mask = *attn_mask;
  }
  if (mask.defined()) {
    if (mask.scalar_type() == at::kBool) {
      mask = at::zeros(mask.sizes(), query.options())
                 .masked_fill(mask.logical_not(), -::std::numeric_limits<double>::infinity());
    }
    attn = attn + mask;
  }
  attn = at::softmax(attn, -1);
  if (dropout_p > 0.0) {
    if (dropout_mask.has_value() && dropout_mask->defined()) {
      attn = attn.masked_fill(dropout_mask->logical_not(), 0.0) * (1.0 / (1.0 - dropout_p));
    } else {
      attn = at::dropout(attn, dropout_p, /*train=*/true);
    }
  }
  return ::std::make_tuple(at::matmul(attn, value), attn);
}

// scaled_dot_product_attention: new public op in 2.0. On 1.13 only the math path exists;
// rebuilt with the math shim above.
inline at::Tensor scaled_dot_product_attention(const at::Tensor& query, const at::Tensor& key,
                                               const at::Tensor& value,
                                               const c10::optional<at::Tensor>& attn_mask = {},
                                               double dropout_p = 0.0, bool is_causal = false,
                                               c10::optional<double> scale = c10::nullopt) {
  return ::std::get<0>(torch::_scaled_dot_product_attention_math(
      query, key, value, attn_mask, dropout_p, is_causal, c10::nullopt, scale));
}

// _fused_sdp_choice: new in 2.x; reports which attention backend would run
// (2.1's SDPBackend: math = 0, flash = 1, efficient = 2). On 1.13 it is always math.
inline int64_t _fused_sdp_choice(const at::Tensor& query, const at::Tensor& key,
                                 const at::Tensor& value, const c10::optional<at::Tensor>& attn_mask,
                                 double dropout_p, bool is_causal, c10::optional<double> scale) {
  (void)query; (void)key; (void)value; (void)attn_mask; (void)dropout_p; (void)is_causal; (void)scale;
  return 0;
}

// Fused attention kernels and their helpers: new in 2.x, CUDA-only kernels. Not available.
template <class... A>
compat113::Tensors<4> _scaled_dot_product_efficient_attention(A&&...) {
  compat113::unavailable("_scaled_dot_product_efficient_attention");
}
template <class... A>
compat113::Tensors<3> _scaled_dot_product_flash_attention_backward(A&&...) {
  compat113::unavailable("_scaled_dot_product_flash_attention_backward");
}
template <class... A>
compat113::Tensors<4> _efficient_attention_backward(A&&...) {
  compat113::unavailable("_efficient_attention_backward");
}
template <class... A>
compat113::Tensors<3> _flash_attention_backward(A&&...) {
  compat113::unavailable("_flash_attention_backward");
}
template <class... A>
at::Tensor _fill_mem_eff_dropout_mask_(A&&...) {
  compat113::unavailable("_fill_mem_eff_dropout_mask_");
}

// ============================================================================================
// Recurrent layers
// ============================================================================================

// _lstm_mps / _lstm_mps_out: 2.1 returns 6 tensors (1.13: 5); an MPS (Apple GPU) kernel.
// Not available; the shim has 2.1's 6-tuple result so the wrapper's reads compile.
template <class... A>
compat113::Tensors<6> _lstm_mps(A&&...) {
  compat113::unavailable("_lstm_mps");
}
template <class... A>
compat113::Tensors<6> _lstm_mps_out(A&&...) {
  compat113::unavailable("_lstm_mps_out");
}

// mkldnn_rnn_layer*: new in 2.1 (oneDNN RNN layer kernels). Not available.
template <class... A>
compat113::Tensors<4> mkldnn_rnn_layer(A&&...) {
  compat113::unavailable("mkldnn_rnn_layer");
}
template <class... A>
compat113::Tensors<4> mkldnn_rnn_layer_out(A&&...) {
  compat113::unavailable("mkldnn_rnn_layer_out");
}
template <class... A>
compat113::Tensors<7> mkldnn_rnn_layer_backward(A&&...) {
  compat113::unavailable("mkldnn_rnn_layer_backward");
}
template <class... A>
compat113::Tensors<7> mkldnn_rnn_layer_backward_out(A&&...) {
  compat113::unavailable("mkldnn_rnn_layer_backward_out");
}

// ============================================================================================
// Sparse tensors
// ============================================================================================

// sparse_coo_tensor / _sparse_coo_tensor_unsafe / _sparse_coo_tensor_with_dims_and_tensors:
// 2.1 adds `bool? is_coalesced`, which sets the result's coalesced flag. Rebuilt: build with
// 1.13's constructor, then set the flag.
// (These live in namespace torch already, as autograd-aware factories: no using needed.)
inline at::Tensor sparse_coo_tensor(const at::Tensor& indices, const at::Tensor& values,
                                    at::TensorOptions options, bool is_coalesced) {
  at::Tensor r = torch::sparse_coo_tensor(indices, values, options);
  return compat113::set_coalesced_flag(r, is_coalesced);
}
inline at::Tensor sparse_coo_tensor(const at::Tensor& indices, const at::Tensor& values,
                                    at::IntArrayRef size, at::TensorOptions options,
                                    bool is_coalesced) {
  at::Tensor r = torch::sparse_coo_tensor(indices, values, size, options);
  return compat113::set_coalesced_flag(r, is_coalesced);
}
inline at::Tensor _sparse_coo_tensor_unsafe(const at::Tensor& indices, const at::Tensor& values,
                                            at::IntArrayRef size, at::TensorOptions options,
                                            bool is_coalesced) {
  at::Tensor r = torch::_sparse_coo_tensor_unsafe(indices, values, size, options);
  return compat113::set_coalesced_flag(r, is_coalesced);
}
inline at::Tensor _sparse_coo_tensor_with_dims_and_tensors(int64_t sparse_dim, int64_t dense_dim,
                                                           at::IntArrayRef size,
                                                           const at::Tensor& indices,
                                                           const at::Tensor& values,
                                                           at::TensorOptions options,
                                                           bool is_coalesced) {
  at::Tensor r = torch::_sparse_coo_tensor_with_dims_and_tensors(sparse_dim, dense_dim, size,
                                                                 indices, values, options);
  return compat113::set_coalesced_flag(r, is_coalesced);
}
using at::_sparse_coo_tensor_with_dims_and_tensors_out;
inline at::Tensor& _sparse_coo_tensor_with_dims_and_tensors_out(
    at::Tensor& out, int64_t sparse_dim, int64_t dense_dim, at::IntArrayRef size,
    const at::Tensor& indices, const at::Tensor& values, bool is_coalesced) {
  at::_sparse_coo_tensor_with_dims_and_tensors_out(out, sparse_dim, dense_dim, size, indices,
                                                   values);
  return compat113::set_coalesced_flag(out, is_coalesced);
}

// _to_dense_out / to_dense_backward: 2.1 adds `bool? masked_grad` (see compat113::to_dense_masked).
// An out= variant records no gradient, so masked_grad does not matter there.
using at::_to_dense_out;
inline at::Tensor& _to_dense_out(at::Tensor& out, const at::Tensor& self,
                                 c10::optional<at::ScalarType> dtype, bool masked_grad) {
  (void)masked_grad;
  return at::_to_dense_out(out, self, dtype);
}
// to_dense_backward: masked_grad=true is 1.13's (gradient masked to the input's pattern);
// masked_grad=false returns the whole gradient in the input's sparse layout.
using at::to_dense_backward;
inline at::Tensor to_dense_backward(const at::Tensor& grad, const at::Tensor& input,
                                    bool masked_grad) {
  if (masked_grad) return at::to_dense_backward(grad, input);
  switch (input.layout()) {
    case at::kSparse: return grad.to_sparse(input.sparse_dim());
    case at::kSparseCsr: return grad.to_sparse_csr();
    case at::kSparseCsc: return grad.to_sparse_csc();
    case at::kSparseBsr:
    case at::kSparseBsc:
      compat113::unavailable("to_dense_backward(masked_grad=false) for BSR/BSC");
    default: return at::to_dense_backward(grad, input);
  }
}

// _to_sparse*_out: new in 2.1 (out= forms of the new _to_sparse* conversions, which add
// dense_dim). Rebuilt with 1.13's to_sparse*_out.
inline at::Tensor& _to_sparse_out(at::Tensor& out, const at::Tensor& self, int64_t sparse_dim) {
  return at::to_sparse_out(out, self, sparse_dim);
}
inline at::Tensor& _to_sparse_out(at::Tensor& out, const at::Tensor& self,
                                  c10::optional<at::Layout> layout,
                                  at::OptionalIntArrayRef blocksize,
                                  c10::optional<int64_t> dense_dim) {
  return compat113::to_sparse_layout_out(out, self, layout, blocksize, dense_dim);
}
inline at::Tensor& _to_sparse_csr_out(at::Tensor& out, const at::Tensor& self,
                                      c10::optional<int64_t> dense_dim) {
  compat113::no_dense_dim("_to_sparse_csr_out", dense_dim);
  return at::to_sparse_csr_out(out, self);
}
inline at::Tensor& _to_sparse_csc_out(at::Tensor& out, const at::Tensor& self,
                                      c10::optional<int64_t> dense_dim) {
  compat113::no_dense_dim("_to_sparse_csc_out", dense_dim);
  return at::to_sparse_csc_out(out, self);
}
inline at::Tensor& _to_sparse_bsr_out(at::Tensor& out, const at::Tensor& self,
                                      at::IntArrayRef blocksize, c10::optional<int64_t> dense_dim) {
  compat113::no_dense_dim("_to_sparse_bsr_out", dense_dim);
  return at::to_sparse_bsr_out(out, self, blocksize);
}
inline at::Tensor& _to_sparse_bsc_out(at::Tensor& out, const at::Tensor& self,
                                      at::IntArrayRef blocksize, c10::optional<int64_t> dense_dim) {
  compat113::no_dense_dim("_to_sparse_bsc_out", dense_dim);
  return at::to_sparse_bsc_out(out, self, blocksize);
}

// _sparse_mm: 2.1 adds the _sparse_mm.reduce overload (CSR x dense with sum/mean/amax/amin),
// backed by _sparse_mm_reduce_impl; 1.13 has neither kernel. Not available.
using at::_sparse_mm;
inline at::Tensor _sparse_mm(const at::Tensor& sparse, const at::Tensor& dense,
                             c10::string_view reduce) {
  (void)sparse; (void)dense; (void)reduce;
  compat113::unavailable("_sparse_mm (with reduce)");
}
template <class... A>
compat113::Tensors<2> _sparse_mm_reduce_impl(A&&...) {
  compat113::unavailable("_sparse_mm_reduce_impl");
}

// _sparse_mask_projection_out: new in 2.1 (sparse_mask backward helper). Not available.
template <class... A>
at::Tensor _sparse_mask_projection_out(A&&...) {
  compat113::unavailable("_sparse_mask_projection_out");
}

// Semi-structured (2:4) sparsity and cuSPARSELt: new in 2.1, CUDA-only. Not available.
template <class... A>
compat113::Tensors<2> _to_sparse_semi_structured(A&&...) {
  compat113::unavailable("_to_sparse_semi_structured");
}
template <class... A>
at::Tensor _sparse_semi_structured_linear(A&&...) {
  compat113::unavailable("_sparse_semi_structured_linear");
}
template <class... A>
at::Tensor _cslt_compress(A&&...) {
  compat113::unavailable("_cslt_compress");
}
template <class... A>
at::Tensor _cslt_sparse_mm(A&&...) {
  compat113::unavailable("_cslt_sparse_mm");
}

// ============================================================================================
// Nested tensors
// ============================================================================================

// _nested_view_from_buffer(_copy)(_out): 2.1 takes the offsets as a Tensor, 1.13 as int[].
using at::_nested_view_from_buffer;
using at::_nested_view_from_buffer_copy;
using at::_nested_view_from_buffer_copy_out;
inline at::Tensor _nested_view_from_buffer(const at::Tensor& self, const at::Tensor& nested_size,
                                           const at::Tensor& nested_strides,
                                           const at::Tensor& offsets) {
  return at::_nested_view_from_buffer(self, nested_size, nested_strides,
                                      compat113::int_list(offsets));
}
inline at::Tensor _nested_view_from_buffer_copy(const at::Tensor& self,
                                                const at::Tensor& nested_size,
                                                const at::Tensor& nested_strides,
                                                const at::Tensor& offsets) {
  return at::_nested_view_from_buffer_copy(self, nested_size, nested_strides,
                                           compat113::int_list(offsets));
}
inline at::Tensor& _nested_view_from_buffer_copy_out(at::Tensor& out, const at::Tensor& self,
                                                     const at::Tensor& nested_size,
                                                     const at::Tensor& nested_strides,
                                                     const at::Tensor& offsets) {
  return at::_nested_view_from_buffer_copy_out(out, self, nested_size, nested_strides,
                                               compat113::int_list(offsets));
}

// ============================================================================================
// Export / functionalisation helpers (new in 2.1)
// ============================================================================================

// sym_constrain_range(_for_size): eager check that an integer lies in [min, max] (for_size:
// min defaults to 0). Rebuilt.
inline void sym_constrain_range(const at::Scalar& size, c10::optional<int64_t> min = c10::nullopt,
                                c10::optional<int64_t> max = c10::nullopt) {
  const int64_t lo = min.value_or(::std::numeric_limits<int64_t>::min());
  const int64_t hi = max.value_or(::std::numeric_limits<int64_t>::max());
  const int64_t v = size.toLong();
  TORCH_CHECK(lo <= hi, "sym_constrain_range: max must not be below min (min=", lo, ", max=", hi, ")");
  TORCH_CHECK(lo <= v && v <= hi, "sym_constrain_range: ", v, " is outside [", lo, ", ", hi, "]");
}
inline void sym_constrain_range_for_size(const at::Scalar& size,
                                         c10::optional<int64_t> min = c10::nullopt,
                                         c10::optional<int64_t> max = c10::nullopt) {
  torch::sym_constrain_range(size, min.value_or(0), max);
}
// _functional_* forms: do the check, then return a copy of the dependency token.
inline at::Tensor _functional_sym_constrain_range(const at::Scalar& size,
                                                  c10::optional<int64_t> min,
                                                  c10::optional<int64_t> max,
                                                  const at::Tensor& dep_token) {
  torch::sym_constrain_range(size, min, max);
  return dep_token.clone();
}
inline at::Tensor _functional_sym_constrain_range_for_size(const at::Scalar& size,
                                                           c10::optional<int64_t> min,
                                                           c10::optional<int64_t> max,
                                                           const at::Tensor& dep_token) {
  torch::sym_constrain_range_for_size(size, min, max);
  return dep_token.clone();
}
// _functional_assert_async.msg: asserts that a one-element tensor is nonzero, with a message.
inline at::Tensor _functional_assert_async(const at::Tensor& self, c10::string_view assert_msg,
                                           const at::Tensor& dep_token) {
  if (!self.is_nonzero()) {
    throw ::std::runtime_error(assert_msg.empty() ? ::std::string("Assertion is failed")
                                                  : ::std::string(assert_msg));
  }
  return dep_token.clone();
}
// _make_dep_token: an empty 0-dim tensor used only to order side effects.
inline at::Tensor _make_dep_token(at::TensorOptions options = {}) {
  return at::empty({}, options);
}
// _propagate_xla_data: an XLA-only hook (2.1 asserts an XLA device). Not available.
template <class... A>
void _propagate_xla_data(A&&...) {
  compat113::unavailable("_propagate_xla_data");
}

// ============================================================================================
// Test-only ops (new in 2.1)
// ============================================================================================

// _test_check_tensor: checks that every element of a bool tensor is true, returns a copy.
inline at::Tensor _test_check_tensor(const at::Tensor& self) {
  TORCH_CHECK(self.scalar_type() == at::kBool, "_test_check_tensor expects a bool tensor");
  TORCH_CHECK(self.all().item<bool>(), "_test_check_tensor: not all elements are true");
  return self.clone();
}
// _test_functorch_fallback: returns a copy of self (other is ignored).
inline at::Tensor _test_functorch_fallback(const at::Tensor& self, const at::Tensor& other) {
  (void)other;
  return self.clone();
}
inline at::Tensor& _test_functorch_fallback_out(at::Tensor& out, const at::Tensor& self,
                                                const at::Tensor& other) {
  return compat113::write_out(out, torch::_test_functorch_fallback(self, other));
}

}  // namespace torch

// ============================================================================================
// Tensor-method redirection. MUST stay last: from here on these names are macros.
//   self->name(args)  ->  self->getIntrusivePtr() ->* compat113::name_m(args)
// ============================================================================================
// squeeze_(int[] dims): new overload in 2.1.
#define squeeze_(...) getIntrusivePtr()->*::compat113::squeeze_m(__VA_ARGS__)
// to_dense / _to_dense: 2.1 adds masked_grad.
#define to_dense(...) getIntrusivePtr()->*::compat113::to_dense_m(__VA_ARGS__)
#define _to_dense(...) getIntrusivePtr()->*::compat113::to_dense_m(__VA_ARGS__)
// to_sparse(layout, blocksize, dense_dim) and the _to_sparse dispatch method: new in 2.1.
#define to_sparse(...) getIntrusivePtr()->*::compat113::to_sparse_m(__VA_ARGS__)
#define _to_sparse(...) getIntrusivePtr()->*::compat113::to_sparse_m(__VA_ARGS__)
// to_sparse_{csr,csc,bsr,bsc} (and _to_sparse_* twins): 2.1 adds dense_dim.
#define to_sparse_csr(...) getIntrusivePtr()->*::compat113::to_sparse_csr_m(__VA_ARGS__)
#define to_sparse_csc(...) getIntrusivePtr()->*::compat113::to_sparse_csc_m(__VA_ARGS__)
#define to_sparse_bsr(...) getIntrusivePtr()->*::compat113::to_sparse_bsr_m(__VA_ARGS__)
#define to_sparse_bsc(...) getIntrusivePtr()->*::compat113::to_sparse_bsc_m(__VA_ARGS__)
#define _to_sparse_csr(...) getIntrusivePtr()->*::compat113::to_sparse_csr_m(__VA_ARGS__)
#define _to_sparse_csc(...) getIntrusivePtr()->*::compat113::to_sparse_csc_m(__VA_ARGS__)
#define _to_sparse_bsr(...) getIntrusivePtr()->*::compat113::to_sparse_bsr_m(__VA_ARGS__)
#define _to_sparse_bsc(...) getIntrusivePtr()->*::compat113::to_sparse_bsc_m(__VA_ARGS__)
// _sparse_mask_projection: new in 2.1; not available.
#define _sparse_mask_projection(...) \
  getIntrusivePtr()->*::compat113::sparse_mask_projection_m(__VA_ARGS__)
