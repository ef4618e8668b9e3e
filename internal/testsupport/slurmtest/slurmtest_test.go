package slurmtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClusterRunsAJob starts the cluster, runs a one-line batch job through it and checks the
// job's output and its state as squeue reports it after the end (MinJobAge keeps it visible).
func TestClusterRunsAJob(t *testing.T) {
	c := Start(t)
	out := filepath.Join(t.TempDir(), "job.out")
	id, err := c.Command("sbatch", "--parsable", "--output="+out, "--wrap", "echo hello from $SLURM_JOB_ID").Output()
	if err != nil {
		t.Fatalf("sbatch: %v", err)
	}
	jobID := strings.TrimSpace(string(id))
	var state string
	if err := waitFor(30*time.Second, func() bool {
		b, _ := c.Command("squeue", "--noheader", "--states=all", "--jobs="+jobID, "--format=%T").Output()
		state = strings.TrimSpace(string(b))
		return state == "COMPLETED" || state == "FAILED"
	}); err != nil {
		t.Fatalf("job %s: state %q: %v\n%s", jobID, state, err, c.Logs())
	}
	got, _ := os.ReadFile(out)
	if state != "COMPLETED" || strings.TrimSpace(string(got)) != "hello from "+jobID {
		t.Errorf("job %s ended %s with output %q", jobID, state, got)
	}
}

// TestAlive checks the zombie-aware liveness test on this process and on a PID that is not one.
func TestAlive(t *testing.T) {
	if !alive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	if alive(1 << 30) {
		t.Error("PID 2^30 is alive")
	}
}
