package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/smoothl1/smoothl1/bench"
)

// runBench measures the speed table of package bench: ratios of medians over interleaved
// runs, Markdown on stdout (and --md), JSON in --json, progress on stderr.
func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	quick := fs.Bool("quick", false, "sizes up to 1e6 and fewer repetitions (about a minute; the full table takes over ten)")
	jsonPath := fs.String("json", "", "write the table as JSON (a list, one object per row and size) to `FILE`")
	mdPath := fs.String("md", "", "write the Markdown table to `FILE` as well as to stdout")
	rows := fs.String("rows", "", fmt.Sprintf("comma-separated table `ROWS` to run, 1–%d (default: all)", len(bench.Rows)))
	reps := fs.Int("reps", 0, "repetitions per ratio (0: 15, or 7 with --quick)")
	clock := fs.String("clock", "cpu", "`CLOCK` of the timings: cpu (process CPU time: other processes' turns on the CPU do not count) or wall")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: smoothl1 bench [--quick] [--json FILE] [--md FILE] [--rows 1,2,...] [--reps N] [--clock cpu|wall]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	opts := bench.Options{Quick: *quick, Reps: *reps, Progress: stderr}
	if exe, err := os.Executable(); err == nil {
		// Rows 6 and 7 run `smoothl1 train` for its peak memory, row 8 `smoothl1 train --nproc 2`.
		opts.Executable = exe
	}
	if *reps < 0 {
		return usagef("--reps %d: want ≥ 0", *reps)
	}
	var err error
	if opts.Clock, err = bench.ParseClock(*clock); err != nil {
		return usagef("--clock %q: want cpu or wall", *clock)
	}
	if *rows != "" {
		for _, f := range strings.Split(*rows, ",") {
			r, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || r < 1 || r > len(bench.Rows) {
				return usagef("--rows %q: want row numbers 1 to %d separated by commas", *rows, len(bench.Rows))
			}
			opts.Rows = append(opts.Rows, r)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return interrupted{errors.New("interrupted; nothing written")}
		}
		return err
	}
	if *jsonPath != "" {
		if err := writeOutput(*jsonPath, stdout, rep.WriteJSON); err != nil {
			return err
		}
	}
	if *mdPath != "" {
		if err := writeOutput(*mdPath, stdout, rep.WriteMarkdown); err != nil {
			return err
		}
	}
	if err := writeOutput("", stdout, rep.WriteMarkdown); err != nil {
		return err
	}
	// A twin that does not match fails the command, after the table is written.
	if failed := rep.Failed(); len(failed) > 0 {
		var msgs []string
		for _, f := range failed {
			msgs = append(msgs, fmt.Sprintf("row %d: %s", f.Row, f.Status))
		}
		return errors.New("bench: " + strings.Join(msgs, "; "))
	}
	return nil
}
