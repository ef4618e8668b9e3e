//go:build !linux

package torchthread

import (
	"bytes"
	"runtime"
	"strconv"
)

// self identifies the calling goroutine for Do's check "am I the torch goroutine?": its
// goroutine id where the OS thread id is not at hand.
func self() uint64 { return goid() }

// goid returns the current goroutine's id, read from the first line of its stack trace
// ("goroutine 18 [running]:"). The whole trace is walked: 2–4 µs on a shallow stack, 5–6 µs
// under the bench's.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("torchthread: cannot read the goroutine id")
	}
	return id
}
