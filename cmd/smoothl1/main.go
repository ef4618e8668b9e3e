// Command smoothl1 is the project's one command line tool.
//
//	smoothl1 curves --loss SPEC [--loss SPEC ...] [--from -3] [--to 3] [--points 601] [--csv FILE] [--png FILE]
//	smoothl1 trace  --loss SPEC --input FILE [--csv FILE] [--png FILE]
//	smoothl1 train  --task regress|detect --loss SPEC --steps N --seed S --out DIR [--data DIR] [--checkpoint-every K] [--resume]
//	                [--nproc N | --world-size N --rank R --master HOST:PORT]  (data-parallel; or under srun)
//	smoothl1 dataset --out DIR --images N --seed S
//	smoothl1 eval   --data DIR --checkpoint FILE [--results FILE] [--json FILE]
//	smoothl1 eval   (--data DIR | --ann FILE) --dets FILE [--json FILE]
//	smoothl1 predict --checkpoint FILE (--images DIR | FILE ...) --out DIR [--score-threshold 0.3] [--data DIR]
//	smoothl1 ablate [--quick | --full | --config FILE] [--out DIR] [--shard i/n] [--jobs N]; smoothl1 ablate merge --out DIR DIR...
//	smoothl1 bench  [--quick] [--json FILE] [--md FILE]
//
// A loss is named by a spec string such as smoothl1:beta=0.11 or sasl:betamax=0.11,momentum=0.1;
// `smoothl1 help specs` lists them.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/smoothl1/smoothl1/recipe"
)

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"curves":  {"loss values and derivatives over a range of residuals (CSV, PNG)", runCurves},
	"trace":   {"the β a scheduler gives per step for a stream of residuals (CSV, PNG)", runTrace},
	"train":   {"train a model with a loss, with metrics, checkpoints and exact resume", runTrain},
	"dataset": {"write the synthetic detection dataset (COCO instances JSON and PNG images)", runDataset},
	"eval":    {"COCO box AP of a detector checkpoint or of a COCO results file on a dataset's val.json", runEval},
	"predict": {"draw a detector checkpoint's detections on images (PNG per image, detections.json)", runPredict},
	"ablate":  {"the loss ablation sweep over variants, tasks and seeds, with a report (resumable, shardable)", runAblate},
	"soak":    {"train the detector for many steps sampling resident memory (CSV, PNG, JSON); fails on growth", runSoak},
	"bench":   {"speed ratios against libtorch and the published forms, measured in one run (Markdown, JSON)", runBench},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: smoothl1 <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\n`smoothl1 <command> -h` shows a command's flags; `smoothl1 help specs` the loss specs;\n`smoothl1 help tasks` the task kinds and their default schedules.")
}

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help":
		if len(args) > 1 && args[1] == "specs" {
			fmt.Fprint(stdout, specHelp)
			return 0
		}
		if len(args) > 1 && args[1] == "tasks" {
			taskHelp(stdout)
			return 0
		}
		usage(stdout)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "smoothl1: unknown command %q\n", name)
		usage(stderr)
		return 2
	}
	if err := cmd.run(args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "smoothl1 %s: %v\n", name, err)
			return 2
		}
		var ie interrupted
		if errors.As(err, &ie) {
			fmt.Fprintf(stderr, "smoothl1 %s: %v\n", name, err)
			return 130
		}
		var oe otherRank
		if errors.As(err, &oe) {
			fmt.Fprintf(stderr, "smoothl1 %s: %v\n", name, err)
			return exitOtherRank
		}
		fmt.Fprintf(stderr, "smoothl1 %s: %v\n", name, err)
		return 1
	}
	return 0
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// otherRank is the error of a rank of a data-parallel run that stops because another rank
// failed (the error names it): exit code exitOtherRank, so that a launcher tells the cause
// from its consequences.
type otherRank struct{ error }

// exitOtherRank is the exit code of a rank stopped by another's failure.
const exitOtherRank = 3

// usageError is a bad flag or argument: exit code 2.
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("smoothl1 "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and refuses positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const specHelp = `Loss specs: name[:key=value,...,flag]

  l1
  l2                                      ½d²
  smoothl1:beta=1                         β ≥ 0; β = 0 is exact L1
  huber:delta=1                           δ > 0
  balancedl1:alpha=0.5,gamma=1.5,beta=1
  sasl:betamax=0.11,momentum=0.1,betamin=0.001,mean0=<betamax>,var0=0[,std][,shared]
                                          Self-Adjusting Smooth L1 (RetinaMask)
  dsl:k=10,interval=100,beta0=1,source=target
                                          Dynamic SmoothL1 (Dynamic R-CNN): every interval
                                          steps β = min(beta0, median of the recorded k-th
                                          smallest e = (|d0| + |d1|)/2), k = k × images in the
                                          batch. source=target (published): d is the
                                          regression target of the positives; source=residual:
                                          d = pred − target
  fixed:beta=0.5                          Smooth L1 with a constant β, through the scheduler interface

Every key is optional and takes the default shown, except fixed's beta.
`

// taskHelp lists the registered task kinds (package recipe) with their defaults and metrics.
func taskHelp(w io.Writer) {
	fmt.Fprintln(w, "Task kinds (--task, and tasks[].task in sweep configs):")
	for _, name := range recipe.Kinds() {
		k, err := recipe.Lookup(name)
		if err != nil {
			continue
		}
		d := k.Defaults
		fmt.Fprintf(w, "\n  %s: %s\n", k.Name, k.Summary)
		fmt.Fprintf(w, "    defaults: %d steps of batch %d, lr %g, warm-up %d", d.Steps, d.Batch, d.LR, d.Warmup)
		if k.Reads.Noise {
			fmt.Fprintf(w, ", noise %s", d.Noise)
		}
		fmt.Fprintln(w)
		ms := []string{}
		for _, m := range k.Metrics {
			ms = append(ms, m.Key)
		}
		dir := "higher"
		if k.Metrics[0].Lower {
			dir = "lower"
		}
		fmt.Fprintf(w, "    metrics: %s (the first is the main one: %s, %s is better)\n", strings.Join(ms, ", "), k.Metrics[0].Label, dir)
	}
}
