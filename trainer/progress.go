package trainer

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress draws a one-line progress bar with an ETA when its writer is a terminal; otherwise
// it is inactive and Run logs a summary line every LogEvery steps instead.
type progress struct {
	w     io.Writer
	on    bool
	first int64 // step the session started from
	total int64
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	return p
}

func (p *progress) active() bool { return p.on }

func (p *progress) begin(step, total int64) {
	p.first, p.total, p.start = step, total, time.Now()
}

// update redraws the bar at most ten times a second, and always at the last step.
func (p *progress) update(step int64, loss float64, beta []float64) {
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && step != p.total {
		return
	}
	p.last = now
	const width = 30
	frac := float64(step) / float64(p.total)
	fill := int(frac * width)
	eta := p.eta(now, step)
	b := ""
	if len(beta) > 0 {
		parts := make([]string, len(beta))
		for i, v := range beta {
			parts[i] = fmt.Sprintf("%.3g", v)
		}
		b = " β " + strings.Join(parts, ",")
	}
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %d/%d loss %.4g%s ETA %v\x1b[K",
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), 100*frac, step, p.total, loss, b, eta.Round(time.Second))
}

// eta extrapolates the session's pace so far to the steps left after step.
func (p *progress) eta(now time.Time, step int64) time.Duration {
	done := step - p.first
	return time.Duration(float64(now.Sub(p.start)) / float64(max(done, 1)) * float64(p.total-step))
}

func (p *progress) end() {
	if p.on {
		fmt.Fprintln(p.w)
		p.on = false
	}
}
