package bench

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// TwinPython is the interpreter of the PyTorch twins: Debian's python3 with python3-torch.
var TwinPython = "/usr/bin/python3"

//go:embed twins/*.py
var twinScripts embed.FS

// Tolerances of the twin check (relative to the larger magnitude, plus an absolute floor of
// twinAbsTol): the step-0 loss is one float32 forward pass of the same weights and data, so
// only the summation order of the kernels may differ; the loss after one update also goes
// through backward, the clip and AdamW, whose first step divides by √v̂ and magnifies tiny
// gradient differences.
const (
	twinLoss0Tol = 1e-5
	twinLoss1Tol = 1e-4
	twinAbsTol   = 1e-7
)

var (
	torchOnce sync.Once
	torchOK   bool
)

// HaveTorch reports whether TwinPython imports torch (checked once per process).
func HaveTorch() bool {
	torchOnce.Do(func() {
		torchOK = exec.Command(TwinPython, "-c", "import torch").Run() == nil
	})
	return torchOK
}

var (
	visionOnce sync.Once
	visionOK   bool
)

// HaveTorchvision reports whether TwinPython imports torchvision, which row 7's twin matches
// anchors with (checked once per process).
func HaveTorchvision() bool {
	visionOnce.Do(func() {
		visionOK = exec.Command(TwinPython, "-c", "import torch, torchvision").Run() == nil
	})
	return visionOK
}

// twinHello is the twin's first line: its parameter count, the loss of the initial weights on
// the batch, and the loss on the same batch after one training step.
type twinHello struct {
	Params  int64        `json:"params"`
	Loss0   float64      `json:"loss0"`
	Loss1   float64      `json:"loss1"`
	Targets *twinTargets `json:"targets,omitempty"`
}

// twinTargets is row 7's check of the twin's own data path and matching: the anchors of the
// batch, its positives, and (from the twin) the anchors whose class or validity target or
// positive index differs from ours and the largest difference of an encoded box.
type twinTargets struct {
	Anchors         int64   `json:"anchors"`
	Positives       int64   `json:"positives"`
	LabelMismatches int64   `json:"label_mismatches"`
	MaxDeltaDiff    float64 `json:"max_delta_diff"`
}

// twinDeltaTol bounds the largest difference between the twin's encoded boxes and ours: both
// encode in float64 and round to float32, so only log's last bit (glibc's against Go's) may
// differ, by one float32 ulp of a delta (|delta| < 8 here).
const twinDeltaTol = 1e-6

// twinProc is a running twin: it answers "run K" with the seconds of K steps on its own clock.
type twinProc struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr bytes.Buffer
	hello  twinHello
	peak   int64 // the largest peak_rss_bytes the twin answered
}

// startTwin writes the embedded script (and its file reader) into dir, starts it on the
// exchange file with clock, and reads its hello line.
func startTwin(dir, script, file string, clock Clock) (*twinProc, error) {
	for _, name := range []string{"twinfile.py", script} {
		b, err := twinScripts.ReadFile("twins/" + name)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	p := &twinProc{cmd: exec.Command(TwinPython, filepath.Join(dir, script), file, clock.String())}
	p.cmd.Stderr = &p.stderr
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.out = bufio.NewScanner(out)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("twin %s: %w", script, err)
	}
	if err := p.read(&p.hello); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// read decodes the twin's next line into v.
func (p *twinProc) read(v any) error {
	if !p.out.Scan() {
		err := p.out.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("twin %s: no answer (%v); its stderr: %s", filepath.Base(p.cmd.Path), err, lastLines(p.stderr.String(), 5))
	}
	dec := json.NewDecoder(bytes.NewReader(p.out.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("twin: answer %q: %w", p.out.Text(), err)
	}
	return nil
}

// run has the twin run k steps and returns their seconds on its clock.
func (p *twinProc) run(k int) (float64, error) { return p.runCmd(fmt.Sprintf("run %d", k), k) }

// runCmd sends cmd, which runs k steps, and returns their seconds.
func (p *twinProc) runCmd(cmd string, k int) (float64, error) {
	if _, err := fmt.Fprintln(p.in, cmd); err != nil {
		return 0, fmt.Errorf("twin: %w; its stderr: %s", err, lastLines(p.stderr.String(), 5))
	}
	var ans struct {
		Seconds float64 `json:"seconds"`
		Peak    int64   `json:"peak_rss_bytes"` // VmHWM; 0 where /proc is missing
	}
	if err := p.read(&ans); err != nil {
		return 0, err
	}
	p.peak = max(p.peak, ans.Peak)
	if !(ans.Seconds >= 0) || math.IsInf(ans.Seconds, 0) {
		return 0, fmt.Errorf("twin: %v seconds for %d steps", ans.Seconds, k)
	}
	return ans.Seconds, nil
}

// runMode is run of the twin's steps of mode ("run K MODE").
func (p *twinProc) runMode(mode string) func(k int) (float64, error) {
	return func(k int) (float64, error) { return p.runCmd(fmt.Sprintf("run %d %s", k, mode), k) }
}

// peakRSS returns the twin's peak resident memory (VmHWM, which it reports with every run)
// once it has ended.
func (p *twinProc) peakRSS() (int64, bool) {
	return p.peak, p.cmd.ProcessState != nil && p.peak > 0
}

// close ends the twin and waits for it.
func (p *twinProc) close() error {
	fmt.Fprintln(p.in, "quit")
	p.in.Close()
	return p.cmd.Wait()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// close reports whether a and b agree within rel·max(|a|, |b|) + twinAbsTol.
func closeTo(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*max(math.Abs(a), math.Abs(b))+twinAbsTol
}

// twinCheck is the twin's check against the Go side: equal parameter counts, losses at step 0
// and after one step within the tolerances. It returns a description of the comparison and
// an error naming every mismatch.
func twinCheck(ours, twin twinHello) (string, error) {
	desc := fmt.Sprintf("twin check: params %d / %d; step-0 loss %s / %s (rel. tol %g); loss after one step %s / %s (rel. tol %g)",
		ours.Params, twin.Params, fmtLoss(ours.Loss0), fmtLoss(twin.Loss0), twinLoss0Tol, fmtLoss(ours.Loss1), fmtLoss(twin.Loss1), twinLoss1Tol)
	var bad []string
	if ours.Params != twin.Params {
		bad = append(bad, fmt.Sprintf("parameter counts differ: ours %d, twin %d", ours.Params, twin.Params))
	}
	if !closeTo(ours.Loss0, twin.Loss0, twinLoss0Tol) {
		bad = append(bad, fmt.Sprintf("step-0 losses differ: ours %s, twin %s", fmtLoss(ours.Loss0), fmtLoss(twin.Loss0)))
	}
	if !closeTo(ours.Loss1, twin.Loss1, twinLoss1Tol) {
		bad = append(bad, fmt.Sprintf("losses after one step differ: ours %s, twin %s", fmtLoss(ours.Loss1), fmtLoss(twin.Loss1)))
	}
	if ours.Targets != nil {
		tw := twin.Targets
		if tw == nil {
			bad = append(bad, "the twin reports no check of its own targets")
		} else {
			desc += fmt.Sprintf("; the twin's own targets (torchvision matching) against ours: %d anchors, %d / %d positives, %d mismatched, largest box-delta difference %.3g (tol %g)",
				tw.Anchors, ours.Targets.Positives, tw.Positives, tw.LabelMismatches, tw.MaxDeltaDiff, twinDeltaTol)
			switch {
			case tw.Anchors != ours.Targets.Anchors || tw.Positives != ours.Targets.Positives:
				bad = append(bad, fmt.Sprintf("the twin's targets have %d anchors and %d positives, ours %d and %d", tw.Anchors, tw.Positives, ours.Targets.Anchors, ours.Targets.Positives))
			case tw.LabelMismatches != 0:
				bad = append(bad, fmt.Sprintf("the twin's matching labels %d anchors otherwise than ours", tw.LabelMismatches))
			case !(tw.MaxDeltaDiff <= twinDeltaTol):
				bad = append(bad, fmt.Sprintf("the twin's encoded boxes differ from ours by up to %g", tw.MaxDeltaDiff))
			}
		}
	}
	if bad != nil {
		return desc, fmt.Errorf("twin mismatch: %s", strings.Join(bad, "; "))
	}
	return desc, nil
}

func fmtLoss(v float64) string { return strconv.FormatFloat(v, 'g', 9, 64) }
