// inject_gradient.cpp: the custom autograd function behind package tensorloss's inject, which
// puts a gradient computed outside autograd (by the Go kernels on the tensors' memory, or by
// libtorch ops on the device) into the graph. gotch has no custom autograd functions, so
// scripts/setup.sh compiles this file with the flags of gotch's wrapper into an archive that
// package libtch links; tensorloss declares smoothl1_inject_gradient and it resolves at link
// time. It uses only libtorch's C++ autograd API, the same in 1.13 and 2.1.

#include <cstring>
#include <exception>

#include <torch/csrc/autograd/custom_function.h>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// InjectGradient returns a loss whose value was computed outside autograd and whose gradient
// with respect to pred is grad times the upstream gradient:
//
//   forward(pred, grad, values, value) = values when given, else a 0-dim tensor holding value
//                                        (pred's dtype and device)
//   backward(upstream) = grad · upstream, for pred; nothing for the other arguments
//
// pred is read only for its graph edge and its options. grad has pred's shape, dtype and
// device and is saved for the backward (a version-checked saved variable: modifying it in
// place before the backward is an error); saved variables are released after the backward
// unless the graph is retained, so the gradient handed on is then grad's own storage.
struct InjectGradient : public torch::autograd::Function<InjectGradient> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &pred, const at::Tensor &grad,
                            const c10::optional<at::Tensor> &values, double value) {
    ctx->save_for_backward({grad});
    if (values.has_value()) {
      return *values;
    }
    return at::scalar_tensor(value, pred.options());
  }

  static variable_list backward(AutogradContext *ctx, variable_list upstream) {
    at::Tensor grad = ctx->get_saved_variables()[0];
    const at::Tensor &up = upstream[0];
    // loss.backward() starts from an upstream gradient of exactly 1, and grad · 1 = grad bit
    // for bit: hand grad on as it is, with no pass over it. A graph built for a double backward
    // (grad mode on) keeps the product, which is differentiable in the upstream gradient.
    if (!at::GradMode::is_enabled() && up.numel() == 1 && up.is_cpu() &&
        up.item<double>() == 1.0) {
      return {grad, at::Tensor(), at::Tensor(), at::Tensor()};
    }
    return {up.mul(grad), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

// smoothl1_inject_gradient returns InjectGradient::apply(pred, grad, values, value) as a new
// at::Tensor handle (gotch's tensor), or NULL with *err set to a malloc'ed message. values is
// NULL or an at::Tensor handle; the arguments are not consumed.
extern "C" void *smoothl1_inject_gradient(void *pred, void *grad, void *values, double value,
                                          char **err) {
  try {
    c10::optional<at::Tensor> v;
    if (values != nullptr) {
      v = *static_cast<at::Tensor *>(values);
    }
    at::Tensor out = InjectGradient::apply(*static_cast<at::Tensor *>(pred),
                                           *static_cast<at::Tensor *>(grad), v, value);
    return new at::Tensor(std::move(out));
  } catch (const std::exception &e) {
    *err = strdup(e.what());
  } catch (...) {
    *err = strdup("unknown C++ exception");
  }
  return nullptr;
}
