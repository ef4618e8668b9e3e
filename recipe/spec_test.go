package recipe

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/trainer"
)

// TestResolveDefaults: zero fields take the task's defaults (Kind.Defaults) and the
// project-wide ones; negative warmup, weight decay and clip mean none; given values stay.
func TestResolveDefaults(t *testing.T) {
	cases := []struct {
		name string
		in   Spec
		want Settings
	}{
		{"regress defaults", Spec{Task: Regress, Loss: "l1"}, Settings{Noise: "heavy", Steps: 2000, Batch: 256,
			LR: 2e-3, Warmup: 100, Optimizer: "adamw", WeightDecay: 1e-4, Momentum: 0.9, Clip: 10, Decay: "cosine",
			CheckpointEvery: 500, MaxNonFinite: 10}},
		{"detect defaults", Spec{Task: Detect, Loss: "sasl"}, Settings{Steps: 800, Batch: 16, LR: 8e-3,
			Warmup: 100, Optimizer: "adamw", WeightDecay: 1e-4, Momentum: 0.9, Clip: 10, Decay: "cosine",
			CheckpointEvery: 500, MaxNonFinite: 10}},
		{"none", Spec{Task: Regress, Loss: "l1", Settings: Settings{Warmup: -1, WeightDecay: -1, Clip: -1}},
			Settings{Noise: "heavy", Steps: 2000, Batch: 256, LR: 2e-3, Optimizer: "adamw", Momentum: 0.9,
				Decay: "cosine", CheckpointEvery: 500, MaxNonFinite: 10}},
		{"given", Spec{Task: Regress, Loss: "l1", Settings: Settings{Noise: "light", Steps: 7, Batch: 3, LR: 0.5,
			Warmup: 2, Optimizer: "sgd", WeightDecay: 0.25, Momentum: 0.5, Clip: 2, Decay: "step",
			CheckpointEvery: 3, MaxNonFinite: 4}},
			Settings{Noise: "light", Steps: 7, Batch: 3, LR: 0.5, Warmup: 2, Optimizer: "sgd", WeightDecay: 0.25,
				Momentum: 0.5, Clip: 2, Decay: "step", CheckpointEvery: 3, MaxNonFinite: 4}},
	}
	for _, c := range cases {
		r, err := c.in.Resolve()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if r.Settings != c.want {
			t.Errorf("%s: resolved\n%+v\nwant\n%+v", c.name, r.Settings, c.want)
		}
		if r.Schedule.Base != c.want.LR || r.Schedule.Warmup != c.want.Warmup || r.Optimizer.WeightDecay != c.want.WeightDecay {
			t.Errorf("%s: schedule %+v, optimizer %+v do not follow the settings", c.name, r.Schedule, r.Optimizer)
		}
		if (r.Optimizer.Kind == trainer.SGD) != (c.want.Optimizer == "sgd") || (r.Optimizer.Kind == trainer.SGD && r.Optimizer.Momentum != c.want.Momentum) {
			t.Errorf("%s: optimizer %+v", c.name, r.Optimizer)
		}
	}
}

// TestResolveErrors: each bad field is an error wrapping ErrSpec whose FieldError names it.
func TestResolveErrors(t *testing.T) {
	ok := Spec{Task: Regress, Loss: "l1"}
	with := func(f func(*Spec)) Spec { s := ok; f(&s); return s }
	cases := []struct {
		name, field string
		in          Spec
	}{
		{"unknown task", "task", with(func(s *Spec) { s.Task = "segment" })},
		{"no loss", "loss", with(func(s *Spec) { s.Loss = "" })},
		{"bad loss", "loss", with(func(s *Spec) { s.Loss = "smoothl1:beta=-1" })},
		{"negative steps", "steps", with(func(s *Spec) { s.Steps = -1 })},
		{"negative batch", "batch", with(func(s *Spec) { s.Batch = -2 })},
		{"negative lr", "lr", with(func(s *Spec) { s.LR = -1 })},
		{"momentum 1", "momentum", with(func(s *Spec) { s.Momentum = 1 })},
		{"negative checkpoint", "checkpoint_every", with(func(s *Spec) { s.CheckpointEvery = -5 })},
		{"negative max_nonfinite", "max_nonfinite", with(func(s *Spec) { s.MaxNonFinite = -1 })},
		{"bad optimizer", "optimizer", with(func(s *Spec) { s.Optimizer = "adam" })},
		{"bad decay", "decay", with(func(s *Spec) { s.Decay = "linear" })},
		{"bad noise", "noise", with(func(s *Spec) { s.Noise = "hevy" })},
		{"data on regress", "data", with(func(s *Spec) { s.Data = "x" })},
		{"noise on detect", "noise", Spec{Task: Detect, Loss: "l1", Settings: Settings{Noise: "light"}}},
	}
	for _, c := range cases {
		_, err := c.in.Resolve()
		var fe *FieldError
		if !errors.Is(err, ErrSpec) || !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: error %v, want a FieldError of %q wrapping ErrSpec", c.name, err, c.field)
		}
	}
}

func TestParseSpec(t *testing.T) {
	s, err := ParseSpec([]byte(`{"task":"regress","loss":"sasl","seed":3,"noise":"light","steps":50,"clip":-1}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{Task: Regress, Loss: "sasl", Seed: 3, Settings: Settings{Noise: "light", Steps: 50, Clip: -1}}
	if s != want {
		t.Errorf("parsed %+v, want %+v", s, want)
	}
	for _, bad := range []string{`{"task":"regress","loss":"l1","stpes":3}`, `{"task":"regress","loss":"l1"} {}`,
		`{"task":"regress","loss":"l1","steps":-3}`} {
		if _, err := ParseSpec([]byte(bad)); !errors.Is(err, ErrSpec) {
			t.Errorf("%s: error %v, want ErrSpec", bad, err)
		}
	}
}

// TestFlags: the train command's flags keep their documented meaning and map to the rule.
func TestFlags(t *testing.T) {
	parse := func(args ...string) (Spec, Options, error) {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var f Flags
		f.Register(fs)
		if err := fs.Parse(append([]string{"--out", "d", "--loss", "l1"}, args...)); err != nil {
			t.Fatal(err)
		}
		return f.Spec()
	}
	s, o, err := parse()
	if err != nil || s.Task != Regress || s.Warmup != 0 || s.Clip != 10 || s.WeightDecay != 1e-4 || o.Dir != "d" {
		t.Errorf("defaults: %+v %+v %v", s, o, err)
	}
	s, _, err = parse("--clip", "0", "--weight-decay", "0", "--warmup", "0")
	if err != nil || s.Clip >= 0 || s.WeightDecay >= 0 || s.Warmup >= 0 {
		t.Errorf("--clip 0 --weight-decay 0 --warmup 0 must be none: %+v %v", s.Settings, err)
	}
	r, _ := s.Resolve()
	if r.Clip != 0 || r.WeightDecay != 0 || r.Warmup != 0 {
		t.Errorf("resolved none: %+v", r.Settings)
	}
	s, _, err = parse("--warmup", "7", "--task", "detect", "--batch", "4")
	if err != nil || s.Warmup != 7 || s.Task != Detect || s.Batch != 4 {
		t.Errorf("given: %+v %v", s, err)
	}
	for _, bad := range [][]string{{"--warmup", "-2"}, {"--clip", "-1"}, {"--checkpoint-every", "0"},
		{"--task", "segment"}, {"--noise", "light", "--task", "detect"}} {
		if _, _, err := parse(bad...); !errors.Is(err, ErrSpec) {
			t.Errorf("%v: error %v, want ErrSpec", bad, err)
		}
	}
}

// TestIdentityFormat: the identity a checkpoint keeps is byte for byte what the releases
// before this package wrote (the JSON below was read from the header of a checkpoint written
// by `smoothl1 train --task regress --loss sasl` at commit 7bcf566), so their runs resume.
func TestIdentityFormat(t *testing.T) {
	r, err := Spec{Task: Regress, Loss: "sasl", Seed: 1}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.identity("")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"task":"regress","loss":"sasl","seed":1,"noise":{"sigma":0.05,"outliers":0.25,"scale":2},"batch":256,` +
		`"optimizer":{"Kind":1,"Momentum":0,"WeightDecay":0.0001,"Beta1":0,"Beta2":0,"Eps":0},` +
		`"schedule":{"Base":0.002,"Warmup":100,"Decay":2,"Milestones":null,"Gamma":0,"MinLR":0},"clip_norm":10}`
	if string(got) != want {
		t.Errorf("identity\n%s\nwant\n%s", got, want)
	}
	r, _ = Spec{Task: Detect, Loss: "l1", Seed: 2}.Resolve()
	got, _ = r.identity("runs/data")
	if !strings.Contains(string(got), `"seed":2,"data":"runs/data","batch":16,`) {
		t.Errorf("detect identity %s", got)
	}
}

func TestRegisterErrors(t *testing.T) {
	k, _ := Lookup(Regress)
	good := *k
	good.Name = "test-kind-ok"
	if err := Register(good); err != nil {
		t.Fatal(err)
	}
	if err := Register(good); err == nil {
		t.Error("registering a name twice is not an error")
	}
	for name, f := range map[string]func(*Kind){
		"bad name":        func(k *Kind) { k.Name = "a b" },
		"no New":          func(k *Kind) { k.New = nil },
		"no metrics":      func(k *Kind) { k.Metrics = nil },
		"no steps":        func(k *Kind) { k.Defaults.Steps = 0 },
		"data no prepare": func(k *Kind) { k.Reads.Data, k.Prepare = true, nil },
	} {
		k := good
		k.Name = "test-kind-" + strings.ReplaceAll(name, " ", "-")
		f(&k)
		if err := Register(k); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
	if got := strings.Join(Kinds(), ","); !strings.Contains(got, "detect,regress,test-kind-ok") {
		t.Errorf("Kinds() = %s", got)
	}
}
