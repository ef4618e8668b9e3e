package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"gonum.org/v1/plot/vg"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/internal/plots"
	"github.com/smoothl1/smoothl1/spec"
)

// traceRow is the β a scheduler gives for the loss of one step.
type traceRow struct {
	step int64
	beta []float64
}

// traceStream feeds a scheduler the residual stream in r (CSV with header step,d0,...,d{D-1};
// rows sharing a step form one batch; steps ascend) and returns the β of every step. Errors
// begin "name:line: " (the batch's first line for a scheduler's error), or "name: " for an
// empty file.
func traceStream(newScheduler func(d int) (dynamic.Scheduler, error), r io.Reader, name string) ([]traceRow, int, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	// readErr names the line of a CSV syntax error as the other errors do.
	readErr := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s:%d: %v", name, pe.Line, pe.Err)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, 0, fmt.Errorf("%s: empty file: want a header step,d0,...", name)
	}
	if err != nil {
		return nil, 0, readErr(err)
	}
	header = append([]string(nil), header...) // ReuseRecord: the next Read overwrites it
	d := len(header) - 1
	if d < 1 || header[0] != "step" {
		return nil, 0, fmt.Errorf("%s:1: header %q: want step,d0,...,d{D-1}", name, header)
	}
	for j := 1; j <= d; j++ {
		if header[j] != "d"+strconv.Itoa(j-1) {
			return nil, 0, fmt.Errorf("%s:1: header column %d is %q, want %q", name, j+1, header[j], "d"+strconv.Itoa(j-1))
		}
	}
	sch, err := newScheduler(d)
	if err != nil {
		return nil, 0, fmt.Errorf("%s:1: %w", name, err) // D comes from the header
	}
	var (
		rows    []traceRow
		batch   []float64
		step    int64
		first   int // line of the batch's first row
		inBatch bool
		sum     dynamic.Summary
		req     = sch.Requirement()
	)
	flush := func() error {
		dynamic.SummarizeResiduals(batch, d, req, &sum)
		if err := sch.Observe(&sum); err != nil {
			return fmt.Errorf("%s:%d: step %d: %w", name, first, step, err)
		}
		rows = append(rows, traceRow{step: step, beta: sch.Beta(nil)})
		batch = batch[:0]
		return nil
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, readErr(err)
		}
		line, _ := cr.FieldPos(0) // only after a good read: a bad first field has no position
		s, err := strconv.ParseInt(rec[0], 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("%s:%d: step %q is not an integer", name, line, rec[0])
		}
		if inBatch && s != step {
			if s < step {
				return nil, 0, fmt.Errorf("%s:%d: step %d after step %d: steps must ascend", name, line, s, step)
			}
			if err := flush(); err != nil {
				return nil, 0, err
			}
		}
		if !inBatch || s != step {
			first = line
		}
		step, inBatch = s, true
		for j := 1; j <= d; j++ {
			v, err := strconv.ParseFloat(rec[j], 64)
			if err != nil {
				return nil, 0, fmt.Errorf("%s:%d: %s = %q is not a number", name, line, header[j], rec[j])
			}
			batch = append(batch, v) // NaN and ±Inf are data: the scheduler skips such rows
		}
	}
	if inBatch {
		if err := flush(); err != nil {
			return nil, 0, err
		}
	}
	return rows, d, nil
}

func writeTraceCSV(w io.Writer, rows []traceRow, d int) error {
	cw := csv.NewWriter(w)
	rec := []string{"step"}
	for j := 0; j < d; j++ {
		rec = append(rec, "beta"+strconv.Itoa(j))
	}
	cw.Write(rec)
	for _, r := range rows {
		rec = append(rec[:0], strconv.FormatInt(r.step, 10))
		for _, b := range r.beta {
			rec = append(rec, ff(b))
		}
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

func plotTrace(path, title string, rows []traceRow, d int) error {
	series := make([]plots.Series, d)
	for j := range series {
		series[j].Name = "beta" + strconv.Itoa(j)
		for _, r := range rows {
			series[j].X = append(series[j].X, float64(r.step))
			series[j].Y = append(series[j].Y, r.beta[j])
		}
	}
	p, err := plots.Lines(title, "step", "β", series)
	if err != nil {
		return err
	}
	return plots.Save(path, 18*vg.Centimeter, 11*vg.Centimeter, p)
}

func runTrace(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("trace", stderr)
	loss := fs.String("loss", "", "scheduler `SPEC`: sasl, dsl or fixed (see `smoothl1 help specs`)")
	input := fs.String("input", "", "residual stream `FILE`: CSV step,d0,...,d{D-1} (- for stdin)")
	csvPath := fs.String("csv", "", "write the CSV (step,beta0,...) to `FILE` instead of stdout")
	pngPath := fs.String("png", "", "also plot β per column over steps into `FILE`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *loss == "" || *input == "" {
		return usagef("--loss and --input are required")
	}
	s, err := spec.Parse(*loss)
	if err != nil {
		return usageError{err}
	}
	if !s.Scheduled() {
		return usagef("--loss %s: trace needs a β scheduler (sasl, dsl or fixed), not a fixed-shape loss", *loss)
	}
	var in io.Reader = os.Stdin
	name := "stdin"
	if *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, *input
	}
	rows, d, err := traceStream(s.NewScheduler, in, name)
	if err != nil {
		return err
	}
	if err := writeOutput(*csvPath, stdout, func(w io.Writer) error { return writeTraceCSV(w, rows, d) }); err != nil {
		return err
	}
	if *pngPath != "" {
		if err := plotTrace(*pngPath, "β of "+*loss, rows, d); err != nil {
			return fmt.Errorf("--png: %w", err)
		}
	}
	return nil
}
