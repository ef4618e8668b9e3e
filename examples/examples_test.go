// Package examples_test builds and runs the runnable examples, as a user would, and checks
// what they print: the scheduler example without cgo, the two others against libtorch.
package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// run builds ./<name> (with env added) and runs it with args; it returns the standard output.
func run(t *testing.T, name string, env []string, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the examples: %v", err)
	}
	build := exec.Command(goCmd, "build", "-o", bin, "./"+name)
	build.Env = append(os.Environ(), env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/%s: %v\n%s", name, err, out)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("examples/%s: %v\n%s", name, err, out)
	}
	t.Logf("examples/%s:\n%s", name, out)
	return string(out)
}

// floats returns the numbers of the first match of re's groups.
func floats(t *testing.T, re, s string) []float64 {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %q in\n%s", re, s)
	}
	var out []float64
	for _, f := range strings.Fields(strings.Join(m[1:], " ")) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// The scheduler alone: builds with CGO_ENABLED=0, learns the weights, and β follows the
// shrinking residuals below its cap.
func TestSchedulerExample(t *testing.T) {
	out := run(t, "scheduler", []string{"CGO_ENABLED=0"})
	w := floats(t, `w\[0,:3\] = \[(\S+) (\S+) (\S+)\], true \[(\S+) (\S+) (\S+)\]`, out)
	for i := 0; i < 3; i++ {
		if d := w[i] - w[i+3]; d > 0.02 || d < -0.02 {
			t.Errorf("weight %d learned as %g, true %g", i, w[i], w[i+3])
		}
	}
	first := floats(t, `step 200 .*β \[(\S+) \S+ \S+ \S+\]`, out)[0]
	last := floats(t, `step 600 .*β \[(\S+) \S+ \S+ \S+\]`, out)[0]
	if !(last < first && first < 0.11) {
		t.Errorf("β0 went from %g to %g: want it to shrink below 0.11", first, last)
	}
}

// Your own gotch loop: trains, and Dynamic R-CNN's β leaves its initial 1.
func TestGotchLoopExample(t *testing.T) {
	out := run(t, "gotchloop", nil)
	if b := floats(t, `step 400 .*β (\S+)`, out)[0]; !(b > 0 && b < 1) {
		t.Errorf("β at step 400 = %g: want it below the initial 1", b)
	}
}

// An ablation of your own task: every variant and seed finishes and the report is written.
func TestAblationExample(t *testing.T) {
	dir := t.TempDir()
	out := run(t, "ablation", nil, dir)
	for _, v := range []string{"smoothl1:beta=0.11", "smoothl1:beta=1", "sasl:betamax=0.11"} {
		if !strings.Contains(out, "`"+v+"`") {
			t.Errorf("no row of %s in the results", v)
		}
	}
	if !strings.Contains(out, "9 of 9 runs finished") {
		t.Error("not every run finished")
	}
	if _, err := os.Stat(filepath.Join(dir, "report.md")); err != nil {
		t.Error(err)
	}
}
