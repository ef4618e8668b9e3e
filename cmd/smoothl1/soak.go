package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"syscall"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/smoothl1/smoothl1/detectors"
	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/internal/plots"
	"github.com/smoothl1/smoothl1/internal/rss"
	"github.com/smoothl1/smoothl1/recipe"
	tt "github.com/smoothl1/smoothl1/torchthread"
	"github.com/smoothl1/smoothl1/trainer"
)

// soakSample is one row of rss.csv.
type soakSample struct {
	Step    int64   `json:"step"`
	RSSMiB  float64 `json:"rss_mib"`  // resident set size of the process
	HeapMiB float64 `json:"heap_mib"` // Go heap in use
	Live    int     `json:"live_tensors"`
}

// soakResult is soak.json.
type soakResult struct {
	Loss        string  `json:"loss"`
	Steps       int64   `json:"steps"`
	Batch       int     `json:"batch"`
	Warmup      int64   `json:"warmup_steps"`
	WarmRSSMiB  float64 `json:"warm_rss_mib"`  // median RSS of the first tenth after warm-up
	EndRSSMiB   float64 `json:"end_rss_mib"`   // median RSS of the last tenth
	FinalRSSMiB float64 `json:"final_rss_mib"` // RSS at the last step
	PeakRSSMiB  float64 `json:"peak_rss_mib"`  // highest RSS after warm-up
	// GrowthMiB is EndRSSMiB − WarmRSSMiB: what the limit applies to.
	GrowthMiB float64 `json:"growth_mib"`
	// SlopeMiBPer1k is the least-squares slope of RSS over the steps after warm-up.
	SlopeMiBPer1k float64      `json:"slope_mib_per_1000_steps"`
	LiveMin       int          `json:"live_tensors_min"` // after warm-up
	LiveMax       int          `json:"live_tensors_max"`
	LimitMiB      float64      `json:"limit_mib"`
	Pass          bool         `json:"pass"`
	Samples       []soakSample `json:"samples"`
}

func runSoak(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("soak", stderr)
	out := fs.String("out", "", "output `DIR`: rss.csv, rss.png, soak.json and the run in DIR/run")
	steps := fs.Int64("steps", 10000, "training steps")
	batch := fs.Int("batch", 0, "images per step (0: the detector's default)")
	loss := fs.String("loss", "sasl", "loss `SPEC`")
	data := fs.String("data", "", "dataset `DIR`; default: the synthetic one, generated into DIR/run/data")
	every := fs.Int64("sample-every", 50, "steps between RSS samples")
	warmup := fs.Int64("warmup", 1000, "steps before the RSS baseline is taken")
	limit := fs.Float64("max-growth-mb", 50, "fail if RSS grows by more than this many MiB after warm-up")
	threads := fs.Int("threads", runtime.NumCPU(), "libtorch intra-op threads")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *out == "":
		return usagef("--out is required")
	case *steps < 1 || *every < 1 || *warmup < 0 || *warmup >= *steps || *limit <= 0:
		return usagef("want --steps ≥ 1, --sample-every ≥ 1, 0 ≤ --warmup < --steps, --max-growth-mb > 0")
	}
	var samples []soakSample
	var sampleErr error
	sample := func(step int64) {
		b, err := rss.Bytes()
		if err != nil {
			sampleErr = err
			return
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		samples = append(samples, soakSample{Step: step, RSSMiB: mib(b), HeapMiB: mib(int64(ms.HeapInuse)), Live: tt.LiveTensors()})
	}
	spec := recipe.Spec{Task: recipe.Detect, Loss: *loss, Seed: 1,
		Settings: recipe.Settings{Steps: *steps, Data: *data, Batch: *batch}}
	opt := recipe.Options{Dir: filepath.Join(*out, "run"), Threads: *threads, LogEvery: max(1, *steps/20),
		Logger: slog.New(slog.NewTextHandler(stderr, nil)), Progress: stderr, Status: stderr,
		OnStep: func(m trainer.StepMetrics) {
			if m.Step == 1 || m.Step%*every == 0 || m.Step == *warmup || m.Step == *steps {
				sample(m.Step)
			}
		}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := recipe.Run(ctx, spec, opt)
	switch {
	case errors.Is(err, recipe.ErrSpec):
		return usageError{err}
	case err != nil:
		return err
	case sampleErr != nil:
		return sampleErr
	}
	res := summarizeSoak(samples, *warmup, *limit)
	res.Loss, res.Steps, res.Batch = *loss, *steps, *batch
	if res.Batch == 0 {
		res.Batch = detectors.DefaultBatch
	}
	if err := writeSoak(*out, res); err != nil {
		return err
	}
	printSoak(stdout, res)
	if !res.Pass {
		return fmt.Errorf("RSS grew by %.1f MiB after warm-up (step %d to %d, medians of the first and last tenth), over the %.0f MiB limit; see %s",
			res.GrowthMiB, res.Warmup, res.Steps, res.LimitMiB, filepath.Join(*out, "rss.csv"))
	}
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// summarizeSoak computes the growth after warm-up: the median RSS of the last tenth of the
// samples minus the median of the first tenth after warm-up (at least 3 samples each).
// Medians, not single samples: a checkpoint's garbage lifts RSS for a few hundred steps until
// Go returns the memory, and that is not growth; a leak lifts every later sample.
func summarizeSoak(samples []soakSample, warmup int64, limit float64) soakResult {
	res := soakResult{Warmup: warmup, LimitMiB: limit, Samples: samples}
	var xs, ys []float64
	for _, s := range samples {
		if s.Step < warmup {
			continue
		}
		if len(xs) == 0 {
			res.PeakRSSMiB, res.LiveMin, res.LiveMax = s.RSSMiB, s.Live, s.Live
		}
		res.PeakRSSMiB = max(res.PeakRSSMiB, s.RSSMiB)
		res.LiveMin, res.LiveMax = min(res.LiveMin, s.Live), max(res.LiveMax, s.Live)
		xs, ys = append(xs, float64(s.Step)), append(ys, s.RSSMiB)
	}
	if len(samples) > 0 {
		res.FinalRSSMiB = samples[len(samples)-1].RSSMiB
	}
	if len(ys) > 0 {
		k := min(len(ys), max(3, len(ys)/10))
		res.WarmRSSMiB, res.EndRSSMiB = median(ys[:k]), median(ys[len(ys)-k:])
		res.GrowthMiB = res.EndRSSMiB - res.WarmRSSMiB
	}
	if len(xs) >= 2 {
		_, slope := stat.LinearRegression(xs, ys, nil, false)
		res.SlopeMiBPer1k = 1000 * slope
	}
	res.Pass = len(xs) > 0 && res.GrowthMiB < limit
	return res
}

func median(v []float64) float64 {
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	return stat.Quantile(0.5, stat.Empirical, c, nil)
}

func writeSoak(dir string, res soakResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err := atomicfile.Write(filepath.Join(dir, "rss.csv"), 0o644, func(w io.Writer) error {
		fmt.Fprintln(w, "step,rss_mib,heap_mib,live_tensors")
		for _, s := range res.Samples {
			if _, err := fmt.Fprintf(w, "%d,%.2f,%.2f,%d\n", s.Step, s.RSSMiB, s.HeapMiB, s.Live); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "soak.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var steps, rssY, heapY, liveY []float64
	for _, s := range res.Samples {
		steps = append(steps, float64(s.Step))
		rssY, heapY, liveY = append(rssY, s.RSSMiB), append(heapY, s.HeapMiB), append(liveY, float64(s.Live))
	}
	mem, err := plots.Lines(fmt.Sprintf("memory over %d detector steps (%s)", res.Steps, res.Loss), "step", "MiB",
		[]plots.Series{{Name: "RSS", X: steps, Y: rssY}, {Name: "Go heap", X: steps, Y: heapY}})
	if err != nil {
		return err
	}
	live, err := plots.Lines("live gotch tensors", "step", "tensors", []plots.Series{{Name: "live", X: steps, Y: liveY}})
	if err != nil {
		return err
	}
	return plots.Grid(filepath.Join(dir, "rss.png"), 12*vg.Inch, 4*vg.Inch, [][]*plot.Plot{{mem, live}})
}

// printSoak prints a Markdown table of about ten samples and the summary.
func printSoak(w io.Writer, res soakResult) {
	fmt.Fprintln(w, "| step | RSS MiB | Go heap MiB | live tensors |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|")
	stride := max(1, len(res.Samples)/10)
	for i, s := range res.Samples {
		if i%stride == 0 || i == len(res.Samples)-1 || s.Step == res.Warmup {
			fmt.Fprintf(w, "| %d | %.1f | %.1f | %d |\n", s.Step, s.RSSMiB, s.HeapMiB, s.Live)
		}
	}
	verdict := "pass"
	if !res.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\nRSS (medians of the first and last tenth after warm-up at step %d): %.1f → %.1f MiB, growth %.1f MiB (limit %s MiB): %s\n",
		res.Warmup, res.WarmRSSMiB, res.EndRSSMiB, res.GrowthMiB, strconv.FormatFloat(res.LimitMiB, 'f', -1, 64), verdict)
	fmt.Fprintf(w, "RSS at the last step %.1f MiB, peak after warm-up %.1f MiB\n", res.FinalRSSMiB, res.PeakRSSMiB)
	fmt.Fprintf(w, "slope after warm-up: %.2f MiB per 1000 steps; live tensors after warm-up: %d to %d\n",
		res.SlopeMiBPer1k, res.LiveMin, res.LiveMax)
}
