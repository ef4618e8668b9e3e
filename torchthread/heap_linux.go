//go:build linux

package torchthread

/*
#include <malloc.h>

// keep_heap applies keepHeap's settings with mallopt and returns how many it accepted (glibc
// accepts all three; a C library without them, none).
static int keep_heap(int mmap_threshold, int trim_threshold, int top_pad) {
	int ok = 0;
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD) && defined(M_TOP_PAD)
	ok += mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1;
	ok += mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
	ok += mallopt(M_TOP_PAD, top_pad) == 1;
#endif
	return ok;
}
*/
import "C"

// Heap settings of glibc's malloc, which allocates libtorch's CPU tensors (see the package
// doc, Memory).
const (
	// mmapThreshold: blocks below it come from the heap, larger ones are mapped and unmapped
	// each time. 32 MiB is glibc's own ceiling for its self-adjusting threshold
	// (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit), so tensors up to that size are reused from the
	// heap however the process started.
	mmapThreshold = 32 << 20
	// trimThreshold: free memory at the top of the heap beyond it goes back to the OS; twice
	// the mmap threshold, as glibc's self-adjusting rule pairs them.
	trimThreshold = 64 << 20
	// topPad: memory kept when the heap is trimmed and added when it grows. It is what keeps a
	// heap of a thread's own arena (the torch thread's, unless it is the process's first
	// thread) from being unmapped as soon as it is empty, which the trim threshold does not.
	topPad = 64 << 20
)

// keepHeap sets malloc to keep freed tensor memory in the process (keepHeap's constants) and
// reports whether the C library accepted the settings.
func keepHeap() bool { return C.keep_heap(mmapThreshold, trimThreshold, topPad) == 3 }
