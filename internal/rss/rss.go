// Package rss reads the resident set size of the current process, for memory soaks.
package rss

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// Bytes returns the process's resident set size in bytes, from /proc/self/statm (Linux).
func Bytes() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("rss: %w (resident memory is read from Linux's /proc)", err)
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, fmt.Errorf("rss: /proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("rss: /proc/self/statm: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}
