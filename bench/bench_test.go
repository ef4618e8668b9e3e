package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	tt "github.com/smoothl1/smoothl1/torchthread"
)

// No test here asserts a speed: speeds are measured by the benchmarks and the table, never
// by a timed test. These check the arithmetic, the interleaving and the formats.

func TestSpread(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name string
		x    []float64
		want Spread
	}{
		{"one value", []float64{3}, Spread{3, 3, 3}},
		{"odd count, unsorted", []float64{5, 1, 3}, Spread{3, 1, 5}},
		{"even count: mean of the middle two", []float64{4, 1, 3, 2}, Spread{2.5, 1, 4}},
		{"ties", []float64{2, 2, 2, 7}, Spread{2, 2, 7}},
		{"empty: NaN", nil, Spread{nan, nan, nan}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.x)
			got := spread(c.x)
			same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
			if !same(got.Median, c.want.Median) || !same(got.Min, c.want.Min) || !same(got.Max, c.want.Max) {
				t.Errorf("spread(%v) = %+v, want %+v (closed form)", c.x, got, c.want)
			}
			if !slices.Equal(in, c.x) {
				t.Errorf("spread modified its input: %v, was %v", c.x, in)
			}
		})
	}
}

func TestRatios(t *testing.T) {
	got := ratios([]float64{2, 3, 10}, []float64{1, 6, 4})
	want := []float64{2, 0.5, 2.5}
	if !slices.Equal(got, want) {
		t.Errorf("ratios = %v, want %v", got, want)
	}
	// The median of per-repetition ratios is not the ratio of medians: repetition 2 was slow
	// for both cases, which the per-repetition ratio cancels.
	num, den := []float64{1, 10, 1.1}, []float64{0.5, 5, 0.55}
	if s := spread(ratios(num, den)); s.Median != 2 || s.Min != 2 || s.Max != 2 {
		t.Errorf("ratios of proportional samples: %+v, want all 2", s)
	}
	if got := scaled([]float64{2, 4}, 2); !slices.Equal(got, []float64{1, 2}) {
		t.Errorf("scaled = %v", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("ratios of different lengths did not panic")
		}
	}()
	ratios([]float64{1}, []float64{1, 2})
}

func TestTarget(t *testing.T) {
	cases := []struct {
		target Target
		ratio  float64
		met    bool
		text   string
	}{
		{Target{AtLeast, 2}, 2, true, ">= 2"},
		{Target{AtLeast, 2}, 1.999, false, ">= 2"},
		{Target{AtLeast, 0.3}, 0.31, true, ">= 0.3"},
		{Target{AtMost, 1.5}, 1.5, true, "<= 1.5"},
		{Target{AtMost, 1.03}, 1.0301, false, "<= 1.03"},
		{Target{AtMost, 1.03}, math.NaN(), false, "<= 1.03"},
		{Target{AtLeast, 2}, math.NaN(), false, ">= 2"},
		{Target{Cmp(9), 1}, 1, false, "Cmp(9) 1"},
	}
	for _, c := range cases {
		if got := c.target.Met(c.ratio); got != c.met {
			t.Errorf("%v Met(%v) = %v, want %v", c.target, c.ratio, got, c.met)
		}
		if got := c.target.String(); got != c.text {
			t.Errorf("String = %q, want %q", got, c.text)
		}
	}
}

func TestCalibrate(t *testing.T) {
	cases := []struct {
		name      string
		secs      float64
		minSample time.Duration
		want      int
	}{
		{"slower than the sample: one", 0.5, 10 * time.Millisecond, 1},
		{"exact multiple", 1e-3, 10 * time.Millisecond, 10},
		{"rounded up", 3e-3, 10 * time.Millisecond, 4},
		{"no minimum", 1e-9, 0, 1},
		{"clock did not move: capped", 0, time.Millisecond, maxIters},
		{"tiny op: capped", 1e-15, time.Second, maxIters},
	}
	for _, c := range cases {
		if got := calibrate(c.secs, c.minSample); got != c.want {
			t.Errorf("%s: calibrate(%v, %v) = %d, want %d", c.name, c.secs, c.minSample, got, c.want)
		}
	}
}

// TestMeasureInterleaves checks the order of the samples: warm-up, then rounds alternating
// forward and reverse, every case once per round.
func TestMeasureInterleaves(t *testing.T) {
	var calls []string
	op := func(name string) Case {
		return Case{Name: name, Op: func() error { calls = append(calls, name); return nil }}
	}
	sp := sampling{reps: 2, rounds: 2, warmup: 1, minSample: 0, clock: WallClock}
	secs, err := measure(context.Background(), sp, []Case{op("a"), op("b"), op("c")})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields("a b c  a b c  c b a  a b c  c b a")
	if !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	if len(secs) != 3 || len(secs[0]) != 2 {
		t.Fatalf("secs has shape %d×%d, want 3×2", len(secs), len(secs[0]))
	}
	for i, s := range secs {
		for r, v := range s {
			if !(v >= 0) || math.IsInf(v, 0) {
				t.Errorf("secs[%d][%d] = %v", i, r, v)
			}
		}
	}
}

func TestMeasureErrors(t *testing.T) {
	boom := errors.New("boom")
	fails := 0
	cases := []Case{{Name: "ok", Op: func() error { return nil }}, {Name: "bad", Op: func() error {
		if fails++; fails > 2 { // the warm-up passes, the samples fail
			return boom
		}
		return nil
	}}}
	sp := sampling{reps: 3, rounds: 1, warmup: 2, clock: WallClock}
	if _, err := measure(context.Background(), sp, cases); !errors.Is(err, boom) || !strings.Contains(err.Error(), "bad") {
		t.Errorf("failing case: err = %v, want boom naming the case", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := measure(ctx, sp, cases[:1]); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if _, err := measure(context.Background(), sampling{reps: 0, rounds: 1}, cases[:1]); err == nil {
		t.Error("0 repetitions: no error")
	}
}

func TestClocks(t *testing.T) {
	for _, c := range []Clock{CPUClock, WallClock} {
		got, err := ParseClock(c.String())
		if err != nil || got != c {
			t.Errorf("ParseClock(%q) = %v, %v", c.String(), got, err)
		}
		a := c.seconds()
		for i := 0; i < 1e6; i++ { // some work, so the CPU clock moves
			_ = math.Sqrt(float64(i))
		}
		if b := c.seconds(); b < a {
			t.Errorf("%v went back: %v then %v", c, a, b)
		}
	}
	if _, err := ParseClock("sundial"); err == nil {
		t.Error("ParseClock(sundial): no error")
	}
	if err := Clock(7).check(); err == nil {
		t.Error("Clock(7).check(): no error")
	}
}

func TestOptionsErrors(t *testing.T) {
	cases := []struct {
		name string
		o    Options
	}{
		{"row past the last", Options{Rows: []int{1, len(Rows) + 1}}},
		{"row 0", Options{Rows: []int{0}}},
		{"empty rows", Options{Rows: []int{}}},
		{"size 0", Options{Sizes: []int{1000, 0}}},
		{"empty sizes", Options{Sizes: []int{}}},
		{"negative reps", Options{Reps: -1}},
		{"negative rounds", Options{Rounds: -2}},
		{"negative sample", Options{MinSample: -time.Second}},
		{"unknown clock", Options{Clock: Clock(5)}},
	}
	for _, c := range cases {
		if _, err := c.o.resolve(); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	o, err := Options{Quick: true}.resolve()
	if err != nil || !slices.Equal(o.Sizes, QuickSizes) || o.Reps != 7 || o.Rounds != 3 || !slices.Equal(o.Rows, Rows) {
		t.Errorf("quick defaults: %+v, %v", o, err)
	}
	o, err = Options{}.resolve()
	if err != nil || !slices.Equal(o.Sizes, FullSizes) || o.Reps != 15 || o.Clock != CPUClock {
		t.Errorf("full defaults: %+v, %v", o, err)
	}
}

// sampleReport is a hand-made report: a met, a missed and a target-less line, and one with a
// non-finite ratio.
func sampleReport() *Report {
	mk := func(row int, name string, n int, ratio []float64, target *Target) Result {
		return newResult(row, name, n, "elements", ratio,
			side("a", []float64{1e-3, 2e-3, 3e-3}, float64(4*n)), side("b", []float64{2e-3}, float64(4*n)), target)
	}
	rep := &Report{
		Machine: Machine{CPU: "Test CPU", CPUs: 2, GOMAXPROCS: 2, TorchThreads: 1, TorchThreadsDefault: 2,
			Libtorch: "1.13", BLAS: "OpenBLAS (openblas-openmp)", Go: "go1.x", OS: "linux", Arch: "amd64"},
		Quick: true, Reps: 3, Rounds: 3, Seconds: 12,
		Results: []Result{
			mk(1, "native / ours (time)", 1000, []float64{3, 2.5, 2.2}, &Target{AtLeast, 2}),
			mk(2, "ours / native (time)", 10000, []float64{1.6, 1.7, 1.4}, &Target{AtMost, 1.5}),
			mk(3, "retinamask / ours (time)", 100000, []float64{12, 11, 14}, nil),
			mk(4, "broken", 1000000, []float64{math.Inf(1), 1, 2}, &Target{AtMost, 2}),
		},
	}
	rep.Results[2].Note = "a note"
	return rep
}

func TestNewResult(t *testing.T) {
	r := sampleReport().Results
	if got := r[0]; got.RatioMedian != 2.5 || got.RatioMin != 2.2 || got.RatioMax != 3 || got.Reps != 3 || got.Met == nil || !*got.Met {
		t.Errorf("met line: %+v", got)
	}
	if got := r[1]; got.RatioMedian != 1.6 || got.Met == nil || *got.Met {
		t.Errorf("missed line: %+v", got)
	}
	if got := r[2]; got.Target != nil || got.Met != nil {
		t.Errorf("target-less line: target %v, met %v", got.Target, got.Met)
	}
	// side: median seconds 2e-3 for 4000 elements → 2e6 elements/s.
	if got := r[0].Num; got.Case != "a" || got.Seconds != 2e-3 || math.Abs(float64(got.PerSecond)-2e6) > 1e-6 {
		t.Errorf("side = %+v, want a, 2e-3 s, 2e6/s", got)
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleReport().WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &recs); err != nil {
		t.Fatalf("not a JSON list: %v\n%s", err, buf.String())
	}
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4", len(recs))
	}
	for i, rec := range recs {
		for _, k := range []string{"row", "name", "n", "ratio_median", "ratio_min", "ratio_max", "target", "met", "num", "den", "machine", "quick", "clock", "rounds", "reps", "unit"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("record %d has no %q: %v", i, k, rec)
			}
		}
	}
	if recs[0]["target"] != ">= 2" || recs[0]["met"] != true || recs[0]["row"] != 1.0 || recs[0]["n"] != 1000.0 {
		t.Errorf("record 0: target %v, met %v, row %v, n %v", recs[0]["target"], recs[0]["met"], recs[0]["row"], recs[0]["n"])
	}
	if recs[1]["target"] != "<= 1.5" || recs[1]["met"] != false {
		t.Errorf("record 1: target %v, met %v", recs[1]["target"], recs[1]["met"])
	}
	if recs[2]["target"] != nil || recs[2]["met"] != nil {
		t.Errorf("record 2 (no target): target %v, met %v, want null, null", recs[2]["target"], recs[2]["met"])
	}
	if recs[3]["ratio_max"] != nil || recs[3]["ratio_median"] != 2.0 {
		t.Errorf("record 3: ratio_max %v (want null for +Inf), median %v", recs[3]["ratio_max"], recs[3]["ratio_median"])
	}
	if m, _ := recs[0]["machine"].(map[string]any); m["cpu"] != "Test CPU" || m["torch_threads"] != 1.0 || m["libtorch"] != "1.13" {
		t.Errorf("machine = %v", recs[0]["machine"])
	}
}

func TestWriteMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleReport().WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# smoothl1 bench (quick)",
		"Test CPU, 2 CPUs, GOMAXPROCS 2; libtorch 1.13 on 1 thread(s) (default 2), BLAS OpenBLAS (openblas-openmp)",
		"| row | ratio | N | median | min | max | target | met | per second |",
		"| 1 | native / ours (time) | 1e3 | 2.5 | 2.2 | 3 | ≥ 2 | met | a 2M, b 2M elements |",
		"| 2 | ours / native (time) | 1e4 | 1.6 | 1.4 | 1.7 | ≤ 1.5 | **missed** |",
		"| 3 | retinamask / ours (time) | 1e5 | 12 | 11 | 14 | — | no target |",
		"| 4 | broken | 1e6 | 2 | 1 | n/a | ≤ 2 | met |",
		"process CPU time",
		"\nNotes:\n- row 3, N=1e5: a note.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, out)
		}
	}
	var rows int
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| row") {
			rows++
			if n := strings.Count(line, "|"); n != 10 {
				t.Errorf("line has %d bars, want 10: %s", n, line)
			}
		}
	}
	if rows != 4 {
		t.Errorf("%d table lines, want 4", rows)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{fmtN(1000, "elements"), "1e3"}, {fmtN(10000000, ""), "1e7"}, {fmtN(128, ""), "128"},
		{fmtN(8, "images"), "8 images"},
		{fmtRate(1.234e9), "1.23G"}, {fmtRate(4.56e8), "456M"}, {fmtRate(12345), "12.3k"}, {fmtRate(7.5), "7.5"},
		{fmtRate(jsonFloat(math.NaN())), "n/a"},
		{fmtRatio(2.34567), "2.35"}, {fmtRatio(jsonFloat(math.Inf(1))), "n/a"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestTinyTable runs the whole table at N = 1e3 with two repetitions of one round: every row
// must be there and well formed. It checks shapes, never speeds.
func TestTinyTable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs libtorch and a detector step")
	}
	prev, err := tt.NumThreads()
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Options{Quick: true, Sizes: []int{1000}, Reps: 2, Rounds: 1,
		MinSample: time.Millisecond, Progress: &progress, Rows: []int{1, 2, 3, 4, 5}}) // the twins' rows: twin_test.go
	if err != nil {
		t.Fatal(err)
	}
	if now, _ := tt.NumThreads(); now != prev {
		t.Errorf("libtorch threads %d after Run, %d before", now, prev)
	}
	if rep.Machine.TorchThreads != 1 || rep.Machine.TorchThreadsDefault != prev || rep.Machine.Go == "" || rep.Machine.CPUs < 1 {
		t.Errorf("machine = %+v", rep.Machine)
	}
	// Lines per row: 1 vs native and vs copy; 2; 3 vs ours and vs native; 4 ratio and
	// flatness; 5 direct and derived.
	perRow := map[int]int{}
	for _, r := range rep.Results {
		perRow[r.Row]++
		where := r.Name
		if r.Name == "" || r.Reps != 2 || r.Num.Case == "" || r.Den.Case == "" {
			t.Errorf("%s: malformed %+v", where, r)
		}
		if wantN := map[bool]int{true: detectorBatch, false: 1000}[r.Row == 5]; r.N != wantN {
			t.Errorf("%s: n = %d, want %d", where, r.N, wantN)
		}
		for _, v := range []jsonFloat{r.RatioMedian, r.RatioMin, r.RatioMax, r.Num.PerSecond, r.Den.PerSecond, r.Num.Seconds, r.Den.Seconds} {
			if !(v > 0) || math.IsInf(float64(v), 0) {
				t.Errorf("%s: a ratio, time or rate is %v: %+v", where, v, r)
			}
		}
		if !(r.RatioMin <= r.RatioMedian && r.RatioMedian <= r.RatioMax) {
			t.Errorf("%s: min %v, median %v, max %v out of order", where, r.RatioMin, r.RatioMedian, r.RatioMax)
		}
		if (r.Target == nil) != (r.Met == nil) {
			t.Errorf("%s: target %v with met %v", where, r.Target, r.Met)
		}
		if r.Target != nil && *r.Met != r.Target.Met(float64(r.RatioMedian)) {
			t.Errorf("%s: met %v disagrees with the median %v against %v", where, *r.Met, r.RatioMedian, r.Target)
		}
	}
	if want := map[int]int{1: 2, 2: 1, 3: 2, 4: 2, 5: 2}; !maps.Equal(perRow, want) {
		t.Errorf("lines per row %v, want %v", perRow, want)
	}
	var js, md bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal(js.Bytes(), &recs); err != nil || len(recs) != len(rep.Results) {
		t.Errorf("JSON: %d records, %v", len(recs), err)
	}
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(md.String(), "\n| "); got != len(rep.Results)+1 {
		t.Errorf("Markdown has %d table lines, want %d with the header", got, len(rep.Results)+1)
	}
	if !strings.Contains(progress.String(), "row 5") {
		t.Errorf("no progress for row 5:\n%s", progress.String())
	}
}

// TestRow8WithoutExecutable: without the smoothl1 command row 8 is two lines that say they
// were skipped, with no ratio and no verdict. (cmd/smoothl1's TestBenchParallelRow runs it.)
func TestRow8WithoutExecutable(t *testing.T) {
	rep, err := Run(context.Background(), Options{Rows: []int{8}, Reps: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 {
		t.Fatalf("%d lines, want 2", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Row != 8 || r.Status != errNoExecutable.Error() || r.Met != nil || !math.IsNaN(float64(r.RatioMedian)) {
			t.Errorf("line %+v", r)
		}
	}
}
