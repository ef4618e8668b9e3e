package tensorloss

// The custom autograd function is C++ (csrc/inject_gradient.cpp), which scripts/setup.sh
// compiles into an archive that gotch's libtch links; it is declared here and resolved at link
// time, as torchthread's calls into gotch's wrapper are. A link error "undefined reference to
// smoothl1_inject_gradient" means a copy of gotch prepared before it existed: run make setup.

/*
#include <stdlib.h>
void *smoothl1_inject_gradient(void *pred, void *grad, void *values, double value, char **err);
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/sugarme/gotch/ts"
)

// inject returns a tensor whose value is the loss and whose gradient with respect to pred is
// grad times the upstream gradient, through a custom autograd function (which gotch lacks):
//
//	forward   loss (when not nil: [N, D] for None, 0-dim for Mean and Sum), else a 0-dim
//	          tensor holding value in pred's dtype on its device
//	backward  grad · upstream
//
// grad has pred's shape, dtype and device and must not be modified afterwards (libtorch's
// saved-variable check makes that an error at the backward). The value is exact, whatever pred
// holds. The backward makes no pass over grad when the upstream gradient is exactly 1 (a CPU
// scalar, as loss.backward() sends): it hands grad on, since grad · 1 is grad bit for bit.
// So the graph costs no per-element work beyond the gradient the Go kernels or the gradient
// form already wrote, where a dot product with grad (the way without a custom function) costs
// a pass in the forward and one in the backward. The caller drops the result; loss and grad
// are not dropped and may be dropped at once (the graph keeps what it needs).
func inject(pred, grad, loss *ts.Tensor, value float64) (*ts.Tensor, error) {
	var lp unsafe.Pointer
	if loss != nil {
		lp = loss.Ctensor()
	}
	var cerr *C.char
	out := C.smoothl1_inject_gradient(pred.Ctensor(), grad.Ctensor(), lp, C.double(value), &cerr)
	runtime.KeepAlive(pred) // gotch frees a tensor from a finalizer once unreachable
	runtime.KeepAlive(grad)
	runtime.KeepAlive(loss)
	if cerr != nil {
		msg := C.GoString(cerr)
		C.free(unsafe.Pointer(cerr))
		return nil, fmt.Errorf("tensorloss: injecting the gradient: %s", msg)
	}
	return ts.FromCtensor(out), nil
}
