package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/smoothl1/smoothl1/stats"
)

// Cmp says how a ratio is held against its target.
type Cmp int

const (
	// AtLeast: the ratio must be ≥ the target (a speed-up).
	AtLeast Cmp = iota + 1
	// AtMost: the ratio must be ≤ the target (a cost).
	AtMost
)

// String returns ">=" or "<=", and "Cmp(k)" for an unknown value.
func (c Cmp) String() string {
	switch c {
	case AtLeast:
		return ">="
	case AtMost:
		return "<="
	}
	return "Cmp(" + strconv.Itoa(int(c)) + ")"
}

// Target is what a ratio must reach, e.g. {AtLeast, 2}: "≥ 2".
type Target struct {
	Cmp   Cmp
	Value float64
}

// String returns the target as ">= 2" or "<= 1.5".
func (t Target) String() string { return t.Cmp.String() + " " + fmtNum(t.Value) }

// MarshalText writes String: JSON has "target": ">= 2".
func (t Target) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Met reports whether ratio reaches t; a NaN ratio or an unknown Cmp never does.
func (t Target) Met(ratio float64) bool {
	switch t.Cmp {
	case AtLeast:
		return ratio >= t.Value
	case AtMost:
		return ratio <= t.Value
	}
	return false
}

// Side is one of the two cases of a ratio.
type Side struct {
	Case string `json:"case"`
	// Seconds is the median time of one operation over the repetitions.
	Seconds jsonFloat `json:"seconds"`
	// PerSecond is Result.Unit per second at that median time (elements/s, images/s).
	PerSecond jsonFloat `json:"per_second"`
}

// Result is one line of the table: one ratio of one row at one size. Ratio r is Num's time
// over Den's time, computed per repetition from samples timed in that repetition; the
// median, minimum and maximum are over the repetitions. Met is judged on the median.
type Result struct {
	Row  int    `json:"row"`
	Name string `json:"name"` // what is compared, with the ratio's direction: "native / ours (time)"
	// N is the rows of the float32 [N, 4] data; for row 5, the images of one training step.
	N int `json:"n"`
	// Unit is what PerSecond counts: "elements" (the N·4 values of pred) or "images".
	Unit        string    `json:"unit"`
	Reps        int       `json:"reps"`
	RatioMedian jsonFloat `json:"ratio_median"`
	RatioMin    jsonFloat `json:"ratio_min"`
	RatioMax    jsonFloat `json:"ratio_max"`
	Target      *Target   `json:"target"` // nil: the row has no target (JSON null)
	Met         *bool     `json:"met"`    // nil with a nil Target
	Num         Side      `json:"num"`
	Den         Side      `json:"den"`
	// Note qualifies the line (how a flatness ratio is formed, what was not interleaved, a
	// twin's check).
	Note string `json:"note,omitempty"`
	// Status, when not empty, says why the line has no measurement: "skipped: python3-torch
	// not installed", or "FAILED: twin mismatch: ..." (rows 6 and 7). Such a line is not met.
	Status string `json:"status,omitempty"`
	// PeakRSS, on rows 6 and 7 when Options.Train is set, compares the peak resident memory
	// of a training process of ours with the twin's.
	PeakRSS *PeakRSS `json:"peak_rss,omitempty"`
}

// PeakRSS is the peak resident memory (VmHWM of /proc/PID/status, each process's own) of a
// `smoothl1 train` run and of a PyTorch twin's process.
type PeakRSS struct {
	OursBytes    int64  `json:"ours_bytes"`
	OursRun      string `json:"ours_run"`
	PyTorchBytes int64  `json:"pytorch_bytes"`
	PyTorchRun   string `json:"pytorch_run"`
}

// peakNote is p as a note, or "" when nil.
func peakNote(p *PeakRSS) string {
	if p == nil {
		return ""
	}
	return p.String()
}

func (p PeakRSS) String() string {
	return fmt.Sprintf("peak RSS: `%s` %.0f MiB; %s %.0f MiB", p.OursRun, float64(p.OursBytes)/(1<<20), p.PyTorchRun, float64(p.PyTorchBytes)/(1<<20))
}

// newResult builds a Result from the per-repetition ratios and its two sides.
func newResult(row int, name string, n int, unit string, ratio []float64, num, den Side, target *Target) Result {
	s := spread(ratio)
	res := Result{Row: row, Name: name, N: n, Unit: unit, Reps: len(ratio),
		RatioMedian: jsonFloat(s.Median), RatioMin: jsonFloat(s.Min), RatioMax: jsonFloat(s.Max),
		Target: target, Num: num, Den: den}
	if target != nil {
		met := target.Met(s.Median)
		res.Met = &met
	}
	return res
}

// side returns the Side of a case from its seconds per operation over the repetitions and
// the count of the unit in one operation.
func side(name string, secs []float64, units float64) Side {
	m := spread(secs).Median
	return Side{Case: name, Seconds: jsonFloat(m), PerSecond: jsonFloat(units / m)}
}

// Machine describes where the table was measured.
type Machine struct {
	CPU        string `json:"cpu"` // model name from /proc/cpuinfo ("unknown" elsewhere)
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	// TorchThreads is libtorch's intra-op thread count during the table, TorchThreadsDefault
	// the count before it (restored after).
	TorchThreads        int    `json:"torch_threads"`
	TorchThreadsDefault int    `json:"torch_threads_default"`
	Libtorch            string `json:"libtorch"`
	BLAS                string `json:"blas"` // torchthread.BLAS: the BLAS libtorch's matmuls run on
	Go                  string `json:"go"`
	OS                  string `json:"os"`
	Arch                string `json:"arch"`
}

func (m Machine) String() string {
	return fmt.Sprintf("%s, %d CPUs, GOMAXPROCS %d; libtorch %s on %d thread(s) (default %d), BLAS %s; %s %s/%s",
		m.CPU, m.CPUs, m.GOMAXPROCS, m.Libtorch, m.TorchThreads, m.TorchThreadsDefault, m.BLAS, m.Go, m.OS, m.Arch)
}

// Report is a measured table.
type Report struct {
	Machine Machine
	Quick   bool
	Reps    int     // repetitions per ratio
	Rounds  int     // samples per case and repetition (the fastest counts)
	Clock   Clock   // what durations were read from
	Seconds float64 // wall time of the whole table
	Results []Result
}

// Failed returns the lines whose twin did not match (Status "FAILED: ...").
func (r *Report) Failed() []Result {
	var out []Result
	for _, res := range r.Results {
		if strings.HasPrefix(res.Status, "FAILED") {
			out = append(out, res)
		}
	}
	return out
}

// jsonRecord is one element of the JSON list: a Result with the run's context.
type jsonRecord struct {
	Result
	Quick   bool     `json:"quick"`
	Rounds  int      `json:"rounds"`
	Clock   string   `json:"clock"`
	Machine *Machine `json:"machine"`
}

// WriteJSON writes the report as a JSON list of objects, one per row and size (see Result),
// each with "quick", "rounds", "clock" and the "machine".
func (r *Report) WriteJSON(w io.Writer) error {
	recs := make([]jsonRecord, len(r.Results))
	for i, res := range r.Results {
		recs[i] = jsonRecord{Result: res, Quick: r.Quick, Rounds: r.Rounds, Clock: r.Clock.String(), Machine: &r.Machine}
	}
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// WriteMarkdown writes the report as a Markdown table with the machine and a legend.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	mode := "full"
	if r.Quick {
		mode = "quick"
	}
	fmt.Fprintf(&b, "# smoothl1 bench (%s)\n\n", mode)
	fmt.Fprintf(&b, "Machine: %s.\n\n", r.Machine)
	clock := "process CPU time (all threads, GC included; not the time other processes held the CPU)"
	if r.Clock == WallClock {
		clock = "wall time"
	}
	fmt.Fprintf(&b, "Ratio = time of the first case / time of the second within one repetition (warmed up; each case's fastest of %d "+
		"interleaved samples); median [min, max] over %d repetitions; met is judged on the median. Times are %s. "+
		"float32 [N, 4] data; %.0f s in all.\n\n", r.Rounds, r.Reps, clock, r.Seconds)
	b.WriteString("| row | ratio | N | median | min | max | target | met | per second |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, res := range r.Results {
		target, met := "—", "no target"
		if res.Target != nil {
			target = strings.NewReplacer(">=", "≥", "<=", "≤").Replace(res.Target.String())
			met = "**missed**"
			if res.Met != nil && *res.Met {
				met = "met"
			}
		}
		if res.Status != "" {
			met = "**" + res.Status + "**"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s | %s %s, %s %s %s |\n",
			res.Row, res.Name, fmtN(res.N, res.Unit), fmtRatio(res.RatioMedian), fmtRatio(res.RatioMin), fmtRatio(res.RatioMax),
			target, met, res.Num.Case, fmtRate(res.Num.PerSecond), res.Den.Case, fmtRate(res.Den.PerSecond), res.Unit)
	}
	notes := false
	for _, res := range r.Results {
		for _, note := range []string{res.Note, peakNote(res.PeakRSS)} {
			if note == "" {
				continue
			}
			if !notes {
				b.WriteString("\nNotes:\n")
				notes = true
			}
			fmt.Fprintf(&b, "- row %d, N=%s: %s.\n", res.Row, fmtN(res.N, res.Unit), note)
		}
	}
	b.WriteString("\n" + legend)
	_, err := io.WriteString(w, b.String())
	return err
}

const legend = `Rows (ours = this project's code; "native" = libtorch's smooth_l1_loss(β = 0.11, mean) forward and backward through gotch):
1. ours: the pure-Go fused SASL step on Go slices (dynamic.Step: statistics and β, then static.SmoothL1Columns: loss and gradient into a reused buffer). copy: memmove of pred and target into a buffer (8 B/element read, 8 written; the step must read the same 8 and write 4), so copy / ours is ours' elements/s over the copy's.
2. ours: tensorloss.NewDynamicLoss(sasl, mean) forward and backward on the same tensors (EngineAuto: Go kernels on the tensors' memory).
3. retinamask: the published AdjustSmoothL1Loss composed in gotch (abs, per-column mean and var, one host sync per step, clamp, where), forward and backward; timed in the same repetitions as row 2.
4. selection: dynamic.Step with DynamicRCNN (K = 10: moments pass, k smallest by selection, Observe); sort: the same with every row's e sorted instead. The flatness lines compare selection's ns/element at N with its lowest over the sizes (not interleaved across N).
5. one detector training step (zero grads, StepLoss, backward; batch 8 of a 16-image synthetic set, one VarStore), box loss sasl vs smoothl1:beta=0.11 (both static.Sum). A step varies by far more than 3% between runs on a shared machine; the derived line adds to the smoothl1 step the difference of the two box losses' own forward+backward, timed interleaved at the steps' median positives.
6. one training step of package regress's task (MLP 16-64-64-4, ReLU; zero grads, forward on a fixed batch of 256, smoothl1:beta=0.11 mean, the loss read to the host, backward, clip at norm 10, AdamW lr 2e-3 wd 1e-4) in Go against the same step of the PyTorch twin bench/twins/regress.py (Debian's python3-torch, one thread, its own process; its samples are timed on its own clock of the same kind). The twin starts from the Go side's weights and batch; equal parameter counts and losses (step 0, and after one step) are checked before timing, and a mismatch fails the line.
7. one training step of package detectors' default network (batch 16; zero grads, StepLoss with smoothl1:beta=0.11 sum, the loss read to the host, backward, clip at norm 10, AdamW lr 8e-3 wd 1e-4; always step 0's batch) against the same step of the PyTorch twin bench/twins/detector.py (the network in torch.nn.functional over our parameters; focal + smooth_l1), checked like row 6 and on its targets. Both draw the batch from the same decoded bytes and match the anchors every step: ours in Go, the twin one image at a time with torchvision's box_iou, Matcher and BoxCoder (as torchvision's RetinaNet), its targets checked equal to ours before timing. "targets given": the twin on the batch and targets ours computed once (network, loss and optimizer alone).
8. one detector training step (sasl, global batch 16) as ` + "`smoothl1 train`" + ` runs it in one process and as 2 ranks (--nproc 2, 8 images and one libtorch thread each): the speed-up for the same global batch, and the share of the 2-rank step in collectives (rank 0's comm_seconds). Wall time between two lines of rank 0's metrics.jsonl, whatever the table's clock; at most 5 repetitions (3 quick), each one run of each.
`

// fmtN writes N as 1e3 … 1e7 when it is a power of ten, and with its unit for images.
func fmtN(n int, unit string) string {
	switch unit {
	case "images":
		return strconv.Itoa(n) + " images"
	case "steps":
		return "batch " + strconv.Itoa(n)
	}
	e := math.Log10(float64(n))
	if n > 0 && e == math.Round(e) {
		return "1e" + strconv.Itoa(int(e))
	}
	return strconv.Itoa(n)
}

// fmtRatio writes a ratio with three significant digits.
func fmtRatio(v jsonFloat) string {
	if !stats.Finite(float64(v)) {
		return "n/a"
	}
	return strconv.FormatFloat(float64(v), 'g', 3, 64)
}

// fmtRate writes a rate with an SI prefix: 1.23G, 456M, 12.3k, 7.5.
func fmtRate(v jsonFloat) string {
	x := float64(v)
	if !stats.Finite(x) {
		return "n/a"
	}
	for _, p := range []struct {
		scale float64
		sym   string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if x >= p.scale {
			return strconv.FormatFloat(x/p.scale, 'g', 3, 64) + p.sym
		}
	}
	return strconv.FormatFloat(x, 'g', 3, 64)
}

// fmtNum writes v in the shortest form that parses back to v.
func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// jsonFloat is a float64 that JSON writes as null when it is NaN or ±Inf (encoding/json
// refuses those).
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if !stats.Finite(float64(f)) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}
