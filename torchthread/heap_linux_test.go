//go:build linux

package torchthread

import (
	"syscall"
	"testing"

	"github.com/sugarme/gotch/ts"
)

// minorFaults returns the process's minor page faults so far.
func minorFaults(t *testing.T) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}

// TestHeapKept: tensors freed on the torch thread leave their memory in the process, so that
// allocating them again takes no page faults. Six 4 MiB tensors are made, written and freed
// in rounds. With glibc's defaults every round maps them anew (each is as large as the
// largest block freed before it) and faults on all 6,144 of their pages, round after round;
// with the settings the first few rounds walk into the fresh memory of the heap's top pad,
// then none faults (measured: 6,144, 6,144, 6,144, 5,120, then 0).
func TestHeapKept(t *testing.T) {
	err := Do(func() error {
		if !HeapKept() {
			t.Skip("malloc's heap settings were not applied (not glibc)")
		}
		round := func() {
			var xs []*ts.Tensor
			for range 6 {
				x, v := Must2(Empty[float32](1 << 20))
				for j := 0; j < len(v); j += 1024 { // a value per 4 KiB page
					v[j] = 1
				}
				xs = append(xs, x)
			}
			for _, x := range xs {
				x.MustDrop()
			}
		}
		for range 6 {
			round()
		}
		before := minorFaults(t)
		for range 5 {
			round()
		}
		if faults := minorFaults(t) - before; faults > 500 {
			t.Errorf("%d page faults in 5 rounds of 24 MiB of tensors (30,720 pages): the memory went back to the OS", faults)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
