package torchthread

import "syscall"

// self identifies the calling goroutine for Do's check "am I the torch goroutine?": on Linux
// its OS thread id (gettid, about 75 ns). The torch goroutine is locked to its thread for good
// and a locked thread runs no other goroutine, so the thread names the goroutine exactly.
func self() uint64 { return uint64(syscall.Gettid()) }
