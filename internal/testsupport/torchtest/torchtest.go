// Package torchtest is test support for code on the torch thread.
package torchtest

import (
	"testing"

	tt "github.com/smoothl1/smoothl1/torchthread"
)

// OneThread sets libtorch's intra-op threads to 1 until the benchmark ends, so that kernels
// compare on one core.
func OneThread(b *testing.B) {
	prev, err := tt.NumThreads()
	if err != nil {
		b.Fatal(err)
	}
	if err := tt.SetNumThreads(1); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tt.SetNumThreads(prev) })
}
