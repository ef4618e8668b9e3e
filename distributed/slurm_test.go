package distributed

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smoothl1/smoothl1/internal/testsupport/slurmtest"
)

// Two tasks of a real srun step (a private single-node Slurm, package slurmtest) meet through
// what FromSlurm reads. The port is set (MasterPortEnv): the one derived from the job id
// (TestFromSlurm) would be the same for every private cluster's first job on this machine.
func TestSlurmStep(t *testing.T) {
	t.Parallel()
	c := slurmtest.Start(t)
	port := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := c.Command("srun", "--ntasks=2", "--time=2", "--kill-on-bad-exit=1", os.Args[0], "-test.run=^$")
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Env = append(c.Env(), roleEnv+"=slurm", MasterPortEnv+"="+strconv.Itoa(port))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("srun: %v\n%s\n%s", err, out, c.Logs())
	}
	var logs []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, resultPrefix) {
			continue
		}
		var res result
		if err := json.Unmarshal([]byte(strings.TrimPrefix(line, resultPrefix)), &res); err != nil {
			t.Fatalf("%v in %q", err, line)
		}
		if res.Err != "" {
			t.Errorf("a task failed: %s", res.Err)
		}
		logs = append(logs, res.Log...)
	}
	slices.Sort(logs)
	var want []string
	for r := range 2 {
		want = append(want, fmt.Sprintf(`rank %d of 2, master %s:%d, gathered ["0" "1"]`, r, c.Node, port))
	}
	if !slices.Equal(logs, want) {
		t.Errorf("the tasks said\n%s\nwant\n%s\nsrun's output:\n%s", strings.Join(logs, "\n"), strings.Join(want, "\n"), out)
	}
}
