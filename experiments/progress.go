package experiments

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/smoothl1/smoothl1/recipe"
)

// progress shows the whole sweep's progress: a bar with the ETA on a terminal, else a log line
// per finished run. It is safe for concurrent use.
//
// The ETA prices each run at steps × seconds per step plus a fixed overhead (evaluation, model
// setup), both per task: priors at first, then the means measured over the runs this sweep
// finished. The pending work is divided by the number of workers.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	term     bool
	log      *slog.Logger
	workers  int
	start    time.Time
	total    int // runs of this shard
	done     int // finished (kept ones included)
	failed   int
	pending  map[string]Run       // not finished, by ID
	running  map[string]time.Time // started, by ID
	measured map[string]*rate     // per task name
	what     string               // the run started last
	stop     chan struct{}
	stopped  chan struct{}
}

type rate struct {
	steps, seconds, overhead float64
	runs                     int
}

// jobDefaults are the task's default steps and batch (recipe.Kind.Defaults).
func jobDefaults(task string) (int64, int) {
	k, err := recipe.Lookup(task)
	if err != nil {
		return 0, 0
	}
	return k.Defaults.Steps, k.Defaults.Batch
}

func newProgress(w io.Writer, log *slog.Logger, workers int, total int, pending []Run) *progress {
	p := &progress{w: w, log: log, workers: max(1, workers), start: time.Now(), total: total,
		done: total - len(pending), pending: map[string]Run{}, running: map[string]time.Time{},
		measured: map[string]*rate{}}
	for _, r := range pending {
		p.pending[r.ID] = r
	}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.term = true
		}
	}
	if p.term {
		p.stop, p.stopped = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(p.stopped)
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case <-t.C:
					p.mu.Lock()
					p.draw()
					p.mu.Unlock()
				}
			}
		}()
	}
	return p
}

// estimate is the expected seconds of run r.
func (p *progress) estimate(r Run) float64 {
	defSteps, defBatch := jobDefaults(r.Task.Task)
	steps := float64(r.Task.Steps)
	if steps == 0 {
		steps = float64(defSteps)
	}
	if m := p.measured[r.Task.Name]; m != nil && m.steps > 0 {
		return steps*m.seconds/m.steps + m.overhead/float64(m.runs)
	}
	batch := float64(r.Task.Batch)
	if batch == 0 {
		batch = float64(defBatch)
	}
	if k, err := recipe.Lookup(r.Task.Task); err == nil && k.Estimate != nil {
		return k.Estimate(int64(steps), int(batch))
	}
	return steps*0.01 + 1
}

func (p *progress) eta() time.Duration {
	var work float64
	now := time.Now()
	for id, r := range p.pending {
		e := p.estimate(r)
		if t, ok := p.running[id]; ok {
			e = max(e-now.Sub(t).Seconds(), 0)
		}
		work += e
	}
	return time.Duration(work / float64(p.workers) * float64(time.Second))
}

func (p *progress) started(r Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[r.ID] = time.Now()
	p.what = r.Task.Name + " " + r.Variant + " seed " + fmt.Sprint(r.Seed)
	p.draw()
}

func (p *progress) finished(r Run, rec Record, outcome Outcome, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, r.ID)
	delete(p.pending, r.ID)
	p.done++
	if err != nil {
		p.failed++
	} else if outcome != Kept && rec.Timings.TrainSeconds > 0 {
		m := p.measured[r.Task.Name]
		if m == nil {
			m = &rate{}
			p.measured[r.Task.Name] = m
		}
		steps := float64(len(rec.Curve.Step))
		if n := len(rec.Curve.Step); n > 0 {
			steps = float64(rec.Curve.Step[n-1] - rec.Timings.ResumedFrom)
		}
		m.steps += steps
		m.seconds += rec.Timings.TrainSeconds
		m.overhead += max(rec.Timings.WallSeconds-rec.Timings.TrainSeconds, 0)
		m.runs++
	}
	if p.term {
		if err != nil {
			p.printf("run %s failed: %v", r.ID, err)
		}
		p.draw()
		return
	}
	elapsed := time.Since(p.start).Round(time.Second)
	if err != nil {
		p.log.Error("run failed", "run", r.ID, "err", err, "done", p.done, "of", p.total)
		return
	}
	p.log.Info("run "+outcome.String(), "run", r.ID, "status", rec.Status, "done", p.done, "of", p.total,
		"elapsed", elapsed, "eta", p.eta().Round(time.Second))
}

// printf prints a line above the bar (or logs it).
func (p *progress) printf(format string, a ...any) {
	if !p.term {
		p.log.Warn(fmt.Sprintf(format, a...))
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s\n", fmt.Sprintf(format, a...))
	p.draw()
}

// relay prints a worker's log line.
func (p *progress) relay(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.term {
		p.printf("%s", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) draw() {
	if !p.term {
		return
	}
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = float64(p.done) / float64(p.total)
	}
	fill := int(frac * width)
	line := fmt.Sprintf("[%s%s] %d/%d runs  %v elapsed  ETA %v", strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		p.done, p.total, time.Since(p.start).Round(time.Second), p.eta().Round(time.Second))
	if p.failed > 0 {
		line += fmt.Sprintf("  %d failed", p.failed)
	}
	if p.what != "" && len(p.running) > 0 {
		line += "  " + p.what
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
}

func (p *progress) end() {
	if p.term {
		close(p.stop)
		<-p.stopped
		p.mu.Lock()
		p.draw()
		fmt.Fprintln(p.w)
		p.mu.Unlock()
	}
}
