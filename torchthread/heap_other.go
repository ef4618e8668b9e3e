//go:build !linux

package torchthread

// keepHeap leaves the allocator as it is: the settings are glibc's (see heap_linux.go).
func keepHeap() bool { return false }
