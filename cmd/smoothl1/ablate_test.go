package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAblateUsageErrors(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.json")
	os.WriteFile(unknown, []byte(`{"name":"x","seeds":2,"tasks":[],"variantz":[]}`), 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"two presets", []string{"ablate", "--quick", "--full"}, "choose one"},
		{"preset and config", []string{"ablate", "--full", "--config", unknown}, "choose one"},
		{"unknown config key", []string{"ablate", "--config", unknown}, `unknown field "variantz"`},
		{"missing config", []string{"ablate", "--config", filepath.Join(dir, "none.json")}, "none.json"},
		{"bad shard", []string{"ablate", "--shard", "2/2"}, "--shard"},
		{"bad steps", []string{"ablate", "--steps", "regress=0"}, "--steps"},
		{"unknown task", []string{"ablate", "--tasks", "segment"}, "no such task"},
		{"bad variant", []string{"ablate", "--variants", "l1 smoothl1:beta=-2"}, "beta"},
		{"positional", []string{"ablate", "extra"}, "unexpected argument"},
		{"merge without folders", []string{"ablate", "merge"}, "needs the sweep folders"},
		{"wait without slurm", []string{"ablate", "--wait"}, "go with --slurm"},
		{"slurm without out", []string{"ablate", "--slurm", "--tasks", "regress"}, "--slurm needs --out"},
		{"slurm and shard", []string{"ablate", "--slurm", "--shard", "0/2", "--out", dir}, "--shard does not go with it"},
		{"resume and a config", []string{"ablate", "--slurm", "--resume", "--full", dir}, "drop the selection flags"},
		{"resume of a folder without slurm", []string{"ablate", "--slurm", "--resume", dir}, "no Slurm sweep to resume"},
		{"negative shards", []string{"ablate", "--slurm", "--shards", "-2", "--out", dir}, "--shards -2"},
		{"owned sbatch option", []string{"ablate", "--slurm", "--slurm-arg=--array=1", "--out", dir}, "--array is set by smoothl1"},
		{"status without a folder", []string{"ablate", "status"}, "one sweep folder"},
		{"status of no sweep", []string{"ablate", "status", dir}, "not a sweep folder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCmd(c.args...)
			if code != 2 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, c.want)
			}
		})
	}
}

func TestAblateDryRun(t *testing.T) {
	code, out, stderr := runCmd("ablate", "--dry-run", "--tasks", "detect", "--seeds", "4", "--shard", "1/2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// detect: 4 variants × 4 seeds = 16 runs; shard 1/2 takes the odd ones.
	lines := strings.Fields(out)
	if len(lines) != 8 || lines[0] != "detect_smoothl1-beta0.11_s2_ndefault" {
		t.Errorf("dry run:\n%s", out)
	}
}

// TestAblateSweepAndMerge runs a tiny sweep through the command, as two shards, and merges them.
func TestAblateSweepAndMerge(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tiny.json")
	os.WriteFile(cfg, []byte(`{"name":"tiny","seeds":2,"threads":1,"variants":["smoothl1:beta=1","dsl:interval=5"],
		"tasks":[{"name":"r","task":"regress","noise":"light","steps":15,"batch":16,"warmup":1}]}`), 0o644)
	whole := filepath.Join(dir, "whole")
	code, out, stderr := runCmd("ablate", "--config", cfg, "--jobs", "1", "--out", whole)
	if code != 0 || !strings.Contains(out, "report: ") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	var shards []string
	for _, s := range []string{"0/2", "1/2"} {
		d := filepath.Join(dir, "shard"+s[:1])
		code, out, stderr := runCmd("ablate", "--config", cfg, "--jobs", "1", "--shard", s, "--out", d)
		if code != 0 || !strings.Contains(out, "ablate merge") {
			t.Fatalf("shard %s: exit %d\n%s\n%s", s, code, out, stderr)
		}
		shards = append(shards, d)
	}
	merged := filepath.Join(dir, "merged")
	code, out, stderr = runCmd(append([]string{"ablate", "merge", "--out", merged}, shards...)...)
	if code != 0 || !strings.Contains(out, "merged 4 of 4 runs") {
		t.Fatalf("merge: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, f := range []string{"report.md", "results.csv", "results.md"} {
		a, _ := os.ReadFile(filepath.Join(whole, f))
		b, _ := os.ReadFile(filepath.Join(merged, f))
		if len(a) == 0 || string(a) != string(b) {
			t.Errorf("%s differs between the sweep and the merge", f)
		}
	}
	// status of a local sweep: all done; of one shard's folder: the other shard's runs are left.
	if code, out, _ := runCmd("ablate", "status", whole); code != 0 || !strings.Contains(out, "4 runs: 4 finished, 0 running, 0 failed, 0 left") || !strings.Contains(out, "done: ") {
		t.Errorf("status of the sweep: exit %d\n%s", code, out)
	}
	if code, out, _ := runCmd("ablate", "status", shards[0]); code != 0 || !strings.Contains(out, "4 runs: 2 finished, 0 running, 0 failed, 2 left") || !strings.Contains(out, "--out "+shards[0]) {
		t.Errorf("status of shard 0: exit %d\n%s", code, out)
	}
	rep, _ := os.ReadFile(filepath.Join(whole, "report.md"))
	for _, want := range []string{"smoothl1 ablate --config sweep.json", "not tested: 2 paired seeds", "plots/r-beta.png"} {
		if !strings.Contains(string(rep), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

// TestAblateSlurmDryRun: --slurm --dry-run prints the scripts and the sbatch lines (the ones
// TestAblateOnSlurm submits to a real Slurm) and writes nothing.
func TestAblateSlurmDryRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sweep")
	code, stdout, stderr := runCmd("ablate", "--slurm", "--dry-run", "--tasks", "detect", "--seeds", "2", "--shards", "4",
		"--jobs", "2", "--slurm-arg=--partition=cpu", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// detect: 4 variants × 2 seeds = 8 runs in 4 shards; 2 workers × 1 thread per task.
	for _, want := range []string{
		"==> " + filepath.Join(out, "slurm", "shard.sbatch") + " <==",
		"#SBATCH --cpus-per-task=2\n#SBATCH --requeue\n#SBATCH --signal=B:TERM@120\n",
		"#SBATCH --partition=cpu\n",
		`--jobs 2 --shard "${SLURM_ARRAY_TASK_ID}/4"`,
		"ablate merge --out " + out + " " + filepath.Join(out, "shards", "0"),
		"array=$(sbatch --parsable --array=0-3 " + filepath.Join(out, "slurm", "shard.sbatch") + ")",
		`sbatch --parsable "--dependency=afterok:$array" --kill-on-invalid-dep=yes ` + filepath.Join(out, "slurm", "merge.sbatch"),
		"dry run: 8 runs in 4 shards (0 finished); nothing was written or submitted",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the dry run wrote %s: %v", out, err)
	}
}
