package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// runCmd runs the command in-process and returns its exit code, stdout and stderr.
func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func readCSV(t *testing.T, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v", err)
	}
	return recs
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

// TestCurvesMatchTorch compares `curves` on its default grid with PyTorch 1.13's values and
// autograd derivatives (testdata/curves_torch.csv, written by testdata/gen_curves.py).
func TestCurvesMatchTorch(t *testing.T) {
	data, err := os.ReadFile("testdata/curves_torch.csv")
	if err != nil {
		t.Fatal(err)
	}
	golden := readCSV(t, string(data))[1:]
	bySpec := map[string][][]string{}
	var specs []string
	for _, r := range golden {
		if _, ok := bySpec[r[0]]; !ok {
			specs = append(specs, r[0])
		}
		bySpec[r[0]] = append(bySpec[r[0]], r)
	}
	args := []string{"curves"}
	for _, s := range specs {
		args = append(args, "--loss", s)
	}
	code, out, stderr := runCmd(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := readCSV(t, out)
	if h := strings.Join(got[0], ","); h != "loss,x,value,grad" {
		t.Fatalf("header %q", h)
	}
	got = got[1:]
	if len(got) != len(golden) {
		t.Fatalf("%d rows, torch has %d", len(got), len(golden))
	}
	const tol = 1e-6
	for i, g := range got {
		w := golden[i]
		if g[0] != w[0] || num(t, g[1]) != num(t, w[1]) {
			t.Fatalf("row %d is (%s, %s), torch's is (%s, %s)", i, g[0], g[1], w[0], w[1])
		}
		x := num(t, g[1])
		for j, what := range []string{"value", "grad"} {
			gv, wv := num(t, g[2+j]), num(t, w[2+j])
			if w[0] == "smoothl1:beta=0" && what == "grad" && x == 0 {
				// Deliberate deviation: torch 1.13's smooth_l1_loss gives −1 at β = 0, d = 0;
				// ours is L1's subgradient 0 there (see static's doc).
				if wv != -1 || gv != 0 {
					t.Errorf("%s at 0: grad %v (torch %v), want 0 (torch -1)", w[0], gv, wv)
				}
				continue
			}
			if math.Abs(gv-wv) > tol*math.Max(1, math.Abs(wv)) {
				t.Errorf("%s at x=%v: %s %v, torch %v", w[0], x, what, gv, wv)
			}
		}
	}
}

func TestCurvesOutputs(t *testing.T) {
	dir := t.TempDir()
	csvPath, pngPath := filepath.Join(dir, "c.csv"), filepath.Join(dir, "c.png")
	spec := "balancedl1:alpha=0.5,gamma=1.5,beta=1"
	code, out, stderr := runCmd("curves", "--loss", spec, "--loss", "sasl", "--points", "3", "--csv", csvPath, "--png", pngPath)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	data, _ := os.ReadFile(csvPath)
	recs := readCSV(t, string(data))
	if len(recs) != 7 || recs[1][0] != spec || recs[4][0] != "sasl" {
		t.Fatalf("CSV %q: want a header and 3 rows per loss, the spec as given", recs)
	}
	// sasl is drawn at its initial β, β̂ = 0.11: at d = 3 the value is 3 − 0.055.
	if v := num(t, recs[6][2]); math.Abs(v-(3-0.055)) > 1e-15 {
		t.Errorf("sasl at 3 = %v, want 2.945", v)
	}
	png, _ := os.ReadFile(pngPath)
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("%s is not a PNG", pngPath)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"curves without loss", []string{"curves"}, "--loss is required"},
		{"unknown loss", []string{"curves", "--loss", "smoothl2"}, "accepted: balancedl1, dsl, fixed"},
		{"unknown key", []string{"curves", "--loss", "smoothl1:delta=1"}, `no parameter "delta" (accepted: beta=)`},
		{"negative beta", []string{"curves", "--loss", "smoothl1:beta=-1"}, "beta"},
		{"reversed range", []string{"curves", "--loss", "l1", "--from", "1", "--to", "0"}, "from < to"},
		{"one point", []string{"curves", "--loss", "l1", "--points", "1"}, "at least 2"},
		{"bad flag", []string{"curves", "--nope"}, "flag provided but not defined"},
		{"positional", []string{"curves", "--loss", "l1", "extra"}, `unexpected argument "extra"`},
		{"trace static", []string{"trace", "--loss", "l1", "--input", "x"}, "needs a β scheduler"},
		{"trace no input", []string{"trace", "--loss", "sasl"}, "required"},
		{"nproc and rank", []string{"train", "--loss", "l1", "--out", "x", "--nproc", "2", "--rank", "0"}, "--world-size, --rank and --master run one rank"},
		{"nproc negative", []string{"train", "--loss", "l1", "--out", "x", "--nproc", "-1"}, "--nproc -1: want ≥ 1"},
		{"nproc and batch", []string{"train", "--loss", "l1", "--out", "x", "--nproc", "3", "--batch", "64"}, "--batch 64 (the whole batch of a step) does not split into 3 equal shards"},
		{"rank alone", []string{"train", "--loss", "l1", "--out", "x", "--rank", "1"}, "--rank and --master go with --world-size"},
		{"world without master", []string{"train", "--loss", "l1", "--out", "x", "--world-size", "2", "--rank", "1"}, "--world-size 2 needs --rank (0 to 1) and --master HOST:PORT"},
		{"bad master", []string{"train", "--loss", "l1", "--out", "x", "--world-size", "2", "--rank", "1", "--master", "h:0"}, `Master "h:0": port "0"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCmd(c.args...)
			if code != 2 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, stderr, c.want)
			}
		})
	}
}

// stream is a random residual stream: steps with 0 to 40 rows of 4 columns, heavy-tailed,
// with NaN and Inf rows sprinkled in, some steps of a single row.
func stream(seed uint64, steps int) (string, [][][]float64) {
	r := rand.New(rand.NewPCG(seed, 99))
	var b strings.Builder
	b.WriteString("step,d0,d1,d2,d3\n")
	batches := make([][][]float64, steps)
	for s := 0; s < steps; s++ {
		n := r.IntN(41)
		if s%17 == 3 {
			n = 1
		}
		for i := 0; i < n; i++ {
			row := make([]float64, 4)
			for j := range row {
				row[j] = r.NormFloat64() * 0.2
				if r.Float64() < 0.05 {
					row[j] *= 20
				}
			}
			switch {
			case r.Float64() < 0.02:
				row[r.IntN(4)] = math.NaN()
			case r.Float64() < 0.02:
				row[r.IntN(4)] = math.Inf(-1 + 2*r.IntN(2))
			}
			batches[s] = append(batches[s], row)
			fmt.Fprintf(&b, "%d,%s,%s,%s,%s\n", s*10, ff(row[0]), ff(row[1]), ff(row[2]), ff(row[3]))
		}
	}
	return b.String(), batches
}

func finiteRows(batch [][]float64) [][]float64 {
	var out [][]float64
	for _, row := range batch {
		ok := true
		for _, v := range row {
			ok = ok && !math.IsNaN(v) && !math.IsInf(v, 0)
		}
		if ok {
			out = append(out, row)
		}
	}
	return out
}

func runTraceOn(t *testing.T, spec, input string) [][]float64 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCmd("trace", "--loss", spec, "--input", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs := readCSV(t, out)
	if h := strings.Join(recs[0], ","); h != "step,beta0,beta1,beta2,beta3" {
		t.Fatalf("header %q", h)
	}
	var rows [][]float64
	for _, r := range recs[1:] {
		row := make([]float64, len(r))
		for j := range r {
			row[j] = num(t, r[j])
		}
		rows = append(rows, row)
	}
	return rows
}

// TestTraceSASLMatchesPublished replays RetinaMask's published update (REFERENCE.md §2),
// written here directly with two-pass float64 statistics, with the documented policy for bad
// rows: NaN/Inf rows are dropped, and a batch with fewer than two finite rows changes nothing.
func TestTraceSASLMatchesPublished(t *testing.T) {
	input, batches := stream(1, 300)
	for _, c := range []struct {
		spec    string
		m, bmax float64
		std     bool
	}{
		{"sasl", 0.1, 0.11, false},
		{"sasl:betamax=1,momentum=0.3", 0.3, 1, false},
		{"sasl:std", 0.1, 0.11, true},
	} {
		t.Run(c.spec, func(t *testing.T) {
			got := runTraceOn(t, c.spec, input)
			mu := []float64{c.bmax, c.bmax, c.bmax, c.bmax}
			vr := make([]float64, 4)
			var row int
			for s, batch := range batches {
				if len(batch) == 0 {
					continue // no rows, no step in the file
				}
				rows := finiteRows(batch)
				if len(rows) >= 2 {
					for j := 0; j < 4; j++ {
						var mean, ss float64
						for _, r := range rows {
							mean += math.Abs(r[j])
						}
						mean /= float64(len(rows))
						for _, r := range rows {
							ss += (math.Abs(r[j]) - mean) * (math.Abs(r[j]) - mean)
						}
						mu[j] = (1-c.m)*mu[j] + c.m*mean
						vr[j] = (1-c.m)*vr[j] + c.m*ss/float64(len(rows)-1)
					}
				}
				if got[row][0] != float64(s*10) {
					t.Fatalf("row %d is step %v, want %d", row, got[row][0], s*10)
				}
				for j := 0; j < 4; j++ {
					spread := vr[j]
					if c.std {
						spread = math.Sqrt(vr[j])
					}
					want := math.Min(math.Max(mu[j]-spread, 1e-3), c.bmax)
					if math.Abs(got[row][1+j]-want) > 1e-9 {
						t.Fatalf("step %d beta%d = %v, published rule gives %v", s*10, j, got[row][1+j], want)
					}
				}
				row++
			}
			if row != len(got) {
				t.Fatalf("%d output rows, want %d", len(got), row)
			}
		})
	}
}

// TestTraceDSLMatchesPublished replays Dynamic R-CNN's window rule (REFERENCE.md §3) with a
// full sort, as the published code does.
func TestTraceDSLMatchesPublished(t *testing.T) {
	input, batches := stream(2, 400)
	const k, interval, beta0 = 5, 20, 1.0
	got := runTraceOn(t, fmt.Sprintf("dsl:k=%d,interval=%d,beta0=%v", k, interval, beta0), input)
	beta := beta0
	var window []float64
	var row, updates int
	for _, batch := range batches {
		if len(batch) == 0 {
			continue
		}
		applied := beta // the β of this step's loss
		rows := finiteRows(batch)
		if len(rows) > 0 {
			var e []float64
			for _, r := range rows {
				e = append(e, (math.Abs(r[0])+math.Abs(r[1]))/2)
			}
			sort.Float64s(e)
			window = append(window, e[min(k, len(e))-1])
			if len(window) == interval {
				w := append([]float64(nil), window...)
				sort.Float64s(w)
				med := (w[interval/2-1] + w[interval/2]) / 2
				if med > 1e-15 {
					beta = math.Min(beta0, med)
				}
				window = window[:0]
				updates++
			}
		}
		for j := 0; j < 4; j++ {
			if got[row][1+j] != applied {
				t.Fatalf("row %d (step %v) beta%d = %v, published rule gives %v", row, got[row][0], j, got[row][1+j], applied)
			}
		}
		row++
	}
	if updates < 10 {
		t.Fatalf("only %d β updates in the stream: the test does not exercise the rule", updates)
	}
}

func TestTraceMalformed(t *testing.T) {
	cases := []struct {
		name, input, want string
	}{
		{"empty", "", "empty file"},
		{"bad header", "step,x0\n1,2\n", `header column 2 is "x0"`},
		{"no step column", "d0,d1\n", "want step,d0"},
		{"bad step", "step,d0\n1,0.5\nx,0.5\n", "in.csv:3: step \"x\""},
		{"bad value", "step,d0\n1,0.5\n2,abc\n", `in.csv:3: d0 = "abc"`},
		{"short row", "step,d0,d1\n1,0.5,1\n2,0.5\n", "in.csv:3:"},
		{"descending", "step,d0\n5,0.5\n4,0.5\n", "in.csv:3: step 4 after step 5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.csv")
			os.WriteFile(path, []byte(c.input), 0o644)
			code, _, stderr := runCmd("trace", "--loss", "sasl", "--input", path)
			if code != 1 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit 1 and %q", code, stderr, c.want)
			}
		})
	}
}

func TestTracePNGAndNonFinite(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	// Step 2 holds only bad rows: β stays as it was; NaN and Inf parse as data.
	os.WriteFile(in, []byte("step,d0,d1\n1,0.1,0.2\n1,0.3,0.1\n2,NaN,0.1\n2,0.1,+Inf\n3,0.05,0.05\n3,0.07,0.01\n"), 0o644)
	pngPath := filepath.Join(dir, "t.png")
	code, out, stderr := runCmd("trace", "--loss", "sasl", "--input", in, "--png", pngPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs := readCSV(t, out)
	if len(recs) != 4 || recs[2][1] != recs[1][1] || recs[2][2] != recs[1][2] {
		t.Fatalf("trace %q: want 3 steps, step 2 keeping step 1's β", recs)
	}
	png, _ := os.ReadFile(pngPath)
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("%s is not a PNG", pngPath)
	}
}

// TestHelpTasks lists every registered task kind with its defaults, and train's usage names
// them.
func TestHelpTasks(t *testing.T) {
	code, out, _ := runCmd("help", "tasks")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"detect:", "800 steps of batch 16", "regress:", "noise heavy", "test_l1, test_l2"} {
		if !strings.Contains(out, want) {
			t.Errorf("help tasks lacks %q:\n%s", want, out)
		}
	}
	code, _, errOut := runCmd("train", "--out", t.TempDir(), "--loss", "l1", "--task", "segment")
	if code != 2 || !strings.Contains(errOut, `unknown task "segment" (registered: detect, regress)`) {
		t.Errorf("train --task segment: exit %d, %s", code, errOut)
	}
}
