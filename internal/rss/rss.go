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

// Peak returns the process's peak resident set size in bytes since it started its program
// (VmHWM in /proc/self/status, Linux). Unlike getrusage's ru_maxrss, it does not count the
// parent's memory a child shares between fork and exec (Linux folds that into the child's
// ru_maxrss), so a child process reports its own peak.
func Peak() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("rss: %w (peak memory is read from Linux's /proc)", err)
	}
	return parseHWM(b)
}

// parseHWM reads VmHWM (in kB) from the text of a /proc/PID/status file.
func parseHWM(status []byte) (int64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("rss: /proc/self/status: VmHWM line %q", bytes.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("rss: /proc/self/status: %w", err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("rss: /proc/self/status has no VmHWM line")
}
