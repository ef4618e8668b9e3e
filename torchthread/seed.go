package torchthread

// at_manual_seed is in gotch's C wrapper (libtch/torch_api.h) without a Go wrapper; it is
// resolved at link time like the thread-count functions in threads.go.

/*
#include <stdint.h>
void at_manual_seed(int64_t seed);
*/
import "C"

import "github.com/sugarme/gotch/ts"

// ManualSeed seeds libtorch's default generator (torch::manual_seed), which draws the initial
// weights of gotch's layers. Call it inside Do.
func ManualSeed(seed int64) error {
	C.at_manual_seed(C.int64_t(seed))
	return ts.TorchErr()
}
