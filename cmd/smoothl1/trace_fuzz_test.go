package main

import (
	"bytes"
	"encoding/csv"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/spec"
)

// traceFuzzSpecs are the schedulers FuzzTraceStream feeds, picked by the input's second
// argument, with the closed interval every β of theirs lies in (their configuration's clip:
// sasl clips to [betamin, betamax], dsl keeps β in (0, beta0], fixed is constant).
var traceFuzzSpecs = []struct {
	spec   string
	lo, hi float64
	shared bool // one β for every column
}{
	{"sasl", 1e-3, 0.11, false},
	{"sasl:shared,std,momentum=0.5", 1e-3, 0.11, true},
	{"dsl:k=2,interval=3,beta0=0.5", 1e-15, 0.5, true},
	{"fixed:beta=0.25", 0.25, 0.25, true},
}

// traceErrLine is the form of every error about a line of the file: "name:line: ...".
var traceErrLine = regexp.MustCompile(`^in\.csv:[1-9][0-9]*: `)

// FuzzTraceStream feeds arbitrary CSV to traceStream. Invariants: no panic; every error names
// the file, and the line for anything past an empty file; on success there is one row per run
// of equal steps among the data lines (counted here by a plain csv.Reader), the steps ascend
// strictly, and every β is finite, positive and inside its scheduler's clip.
func FuzzTraceStream(f *testing.F) {
	good, _ := stream(3, 4)
	for i := range traceFuzzSpecs {
		f.Add([]byte(good), uint8(i))
	}
	for _, s := range []string{
		"",
		"step,d0\n",
		"step,d0,d1\n1,0.1,0.2\n1,0.3,0.1\n2,NaN,0.1\n2,0.1,+Inf\n3,0.05,0.05\n3,0.07,0.01\n",
		"step,d0,d1\n-5,1e300,-1e300\n-5,1e-300,0\n9223372036854775807,0,0\n",
		"step,d0\n1,0.5\nx,0.5\n",
		"step,d0\n5,0.5\n4,0.5\n",
		"step,d0,d1\n1,0.5,1\n2,0.5\n",
		"step,d0\n\"1\"x,2\n",
		"step,d0\n\"1\n,2\n",
		"d0,step\n",
		"step,d0,d1\n1,1e200,1e200\n1,-1e200,1e-200\n",
	} {
		for i := range traceFuzzSpecs {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		sp := traceFuzzSpecs[int(pick)%len(traceFuzzSpecs)]
		s, err := spec.Parse(sp.spec)
		if err != nil {
			t.Fatal(err)
		}
		rows, d, err := traceStream(s.NewScheduler, bytes.NewReader(data), "in.csv")
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "in.csv:") {
				t.Fatalf("error %q does not name the file", msg)
			}
			if !traceErrLine.MatchString(msg) && msg != "in.csv: empty file: want a header step,d0,..." {
				t.Fatalf("error %q does not name the line", msg)
			}
			return
		}
		want, ok := traceSteps(data)
		if !ok {
			t.Fatalf("traceStream accepted input a csv.Reader refuses: %q", data)
		}
		if len(rows) != len(want) {
			t.Fatalf("%d rows for %d distinct steps %v", len(rows), len(want), want)
		}
		for i, r := range rows {
			if r.step != want[i] {
				t.Fatalf("row %d is step %d, want %d", i, r.step, want[i])
			}
			if i > 0 && r.step <= rows[i-1].step {
				t.Fatalf("row %d: step %d after %d", i, r.step, rows[i-1].step)
			}
			if len(r.beta) != d {
				t.Fatalf("row %d: %d β for D = %d", i, len(r.beta), d)
			}
			for j, b := range r.beta {
				if !(b >= sp.lo && b <= sp.hi) || math.IsInf(b, 0) {
					t.Fatalf("%s: step %d: β%d = %v, want in [%v, %v]", sp.spec, r.step, j, b, sp.lo, sp.hi)
				}
				if sp.shared && b != r.beta[0] {
					t.Fatalf("%s: step %d: β %v differ across columns", sp.spec, r.step, r.beta)
				}
			}
		}
	})
}

// traceSteps returns the steps of the runs of equal steps among the data lines of a trace
// CSV, read independently of traceStream; ok is false if the CSV does not parse.
func traceSteps(data []byte) (steps []int64, ok bool) {
	cr := csv.NewReader(bytes.NewReader(data))
	if _, err := cr.Read(); err != nil {
		return nil, false
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return steps, true
		}
		if err != nil {
			return nil, false
		}
		s, err := strconv.ParseInt(rec[0], 10, 64)
		if err != nil {
			return nil, false
		}
		if len(steps) == 0 || steps[len(steps)-1] != s {
			steps = append(steps, s)
		}
	}
}
