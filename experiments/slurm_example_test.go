package experiments_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/smoothl1/smoothl1/experiments"
)

// Submitting the full preset to Slurm from Go, as `smoothl1 ablate --full --slurm --shards 16
// --jobs 2 --slurm-arg=--partition=cpu --wait --out /shared/full` does. (Not run by go test:
// it needs a cluster; TestAblateOnSlurm in cmd/smoothl1 runs the command on a real one.)
func ExampleSubmitSlurm() {
	cfg, err := experiments.Preset("full")
	if err != nil {
		log.Fatal(err)
	}
	exe, _ := os.Executable() // the smoothl1 binary, at a path every node reaches
	ctx := context.Background()
	sub, err := experiments.SubmitSlurm(ctx, experiments.SlurmOptions{
		Config: cfg, Out: "/shared/full", Shards: 16, Jobs: 2, Executable: exe,
		SbatchArgs: []string{"--partition=cpu", "--time=2:00:00"},
	})
	if err != nil {
		log.Fatal(err) // a *SlurmError quotes sbatch's message
	}
	fmt.Printf("job array %s, merge job %s\n", sub.Array, sub.Merge)
	st, err := experiments.WaitSlurm(ctx, sub.Out)
	st.Write(os.Stdout) // runs per shard, the jobs' states, what to do next
	if err != nil {
		log.Fatal(err) // ErrMergeBlocked: a shard failed; resume with SlurmOptions.Resume
	}
}
