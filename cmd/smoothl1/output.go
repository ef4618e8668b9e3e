package main

import (
	"bufio"
	"io"

	"github.com/smoothl1/smoothl1/internal/atomicfile"
)

// writeOutput writes to path atomically, or to stdout when path is empty.
func writeOutput(path string, stdout io.Writer, fill func(w io.Writer) error) error {
	if path == "" {
		bw := bufio.NewWriter(stdout)
		if err := fill(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		if err := fill(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}
