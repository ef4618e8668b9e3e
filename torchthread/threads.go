package torchthread

// gotch v0.9.1's C wrapper defines at_get_num_threads and at_set_num_threads (libtch/
// torch_api.h) but has no Go wrapper for them. They are declared here and resolved at link
// time against the wrapper object that package libtch compiles into every binary importing
// gotch (which this package does), so no library or flag is added.

/*
int at_get_num_threads();
void at_set_num_threads(int n_threads);
*/
import "C"

import (
	"fmt"

	"github.com/sugarme/gotch/ts"
)

// NumThreads returns the size of libtorch's intra-op thread pool (at::get_num_threads) as the
// torch thread sees it.
func NumThreads() (int, error) {
	var n int
	err := Do(func() error {
		n = int(C.at_get_num_threads())
		return ts.TorchErr()
	})
	return n, err
}

// SetNumThreads sets libtorch's intra-op thread count (at::set_num_threads) from the torch
// thread, e.g. 1 for benchmarks that compare kernels on one core. With libtorch's OpenMP
// backend (Debian's) the count is per OS thread; every gotch call of this module runs on the
// torch thread, where it is set. n < 1 is an error.
func SetNumThreads(n int) error {
	if n < 1 {
		return fmt.Errorf("torchthread: SetNumThreads(%d): want at least 1", n)
	}
	return Do(func() error {
		C.at_set_num_threads(C.int(n))
		return ts.TorchErr()
	})
}
