package recipe_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/smoothl1/smoothl1/recipe"
)

// A training run from Go: the same spec `smoothl1 train --task regress --loss sasl:betamax=0.11
// --noise light --steps 100 --batch 64` builds from its flags.
func ExampleRun() {
	dir, err := os.MkdirTemp("", "recipe-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	spec := recipe.Spec{Task: recipe.Regress, Loss: "sasl:betamax=0.11", Seed: 1,
		Settings: recipe.Settings{Noise: "light", Steps: 100, Batch: 64}}
	final, err := recipe.Run(context.Background(), spec, recipe.Options{Dir: dir, Threads: 1, Progress: io.Discard})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("steps:", final["steps"])
	fmt.Println("better than at the start:", final["test_l1"].(float64) < final["init_test_l1"].(float64))
	fmt.Println("β per coordinate:", len(final["beta"].([]float64)))
	// Output:
	// steps: 100
	// better than at the start: true
	// β per coordinate: 4
}

// Settings follow one rule: absent (zero) is the task's default, negative is none.
func ExampleSpec_Resolve() {
	r, err := recipe.Spec{Task: recipe.Detect, Loss: "dsl", Settings: recipe.Settings{Clip: -1}}.Resolve()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("steps %d, batch %d, lr %g, warm-up %d, clip %g\n", r.Steps, r.Batch, r.LR, r.Warmup, r.Clip)
	_, err = recipe.Spec{Task: recipe.Regress, Loss: "l1", Settings: recipe.Settings{Noise: "loud"}}.Resolve()
	fmt.Println(err)
	// Output:
	// steps 800, batch 16, lr 0.008, warm-up 100, clip 0
	// recipe: bad training spec: noise: "loud": accepted: clean, light, heavy
}
