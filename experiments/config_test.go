package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPresetsAreValid(t *testing.T) {
	for _, name := range []string{"quick", "full"} {
		c, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		runs, err := c.Plan()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %d runs", name, len(runs))
	}
	q, _ := Preset("quick")
	if q.Seeds < 3 {
		t.Errorf("quick has %d seeds; the issue asks for at least 3", q.Seeds)
	}
	f, _ := Preset("full")
	if f.Seeds < 5 {
		t.Errorf("full has %d seeds; the issue asks for at least 5", f.Seeds)
	}
	if _, err := Preset("medium"); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestExampleConfigsParse(t *testing.T) {
	for _, path := range []string{"testdata/tiny.json", "testdata/resume.json", "../docs/ablate-example.json"} {
		if _, err := LoadConfig(path); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	base := `{"name":"x","seeds":2,"variants":["smoothl1:beta=1"],"tasks":[{"name":"r","task":"regress","noise":"light"}]}`
	if _, err := ParseConfig([]byte(base)); err != nil {
		t.Fatalf("base config: %v", err)
	}
	cases := []struct{ name, json, want string }{
		{"unknown top-level key", `{"name":"x","seeds":2,"sedes":3,"tasks":[]}`, `unknown field "sedes"`},
		{"unknown task key", strings.Replace(base, `"noise":"light"`, `"noise":"light","stesp":3`, 1), `unknown field "stesp"`},
		{"bad noise", strings.Replace(base, `"light"`, `"hevy"`, 1), `tasks[0] (r).noise: "hevy"`},
		{"bad task", strings.Replace(base, `"regress"`, `"segment"`, 1), `tasks[0] (r).task: "segment"`},
		{"bad variant", strings.Replace(base, `smoothl1:beta=1`, `smoothl1:beta=-1`, 1), `variants[0]`},
		{"unknown variant key", strings.Replace(base, `smoothl1:beta=1`, `smoothl1:delta=1`, 1), `no parameter "delta"`},
		{"no seeds", strings.Replace(base, `"seeds":2`, `"seeds":0`, 1), `seeds: 0`},
		{"a billion seeds", strings.Replace(base, `"seeds":2`, `"seeds":1000000000`, 1), `seeds: 1000000000: want 1 to 10000`},
		{"negative steps", strings.Replace(base, `"noise":"light"`, `"noise":"light","steps":-5`, 1), `must not be negative`},
		{"wrong type", strings.Replace(base, `"seeds":2`, `"seeds":"two"`, 1), `seeds`},
		{"noise on detect", `{"name":"x","seeds":1,"variants":["smoothl1:beta=1"],"tasks":[{"name":"d","task":"detect","noise":"heavy"}]}`, `tasks[0] (d).noise`},
		{"baseline not a variant", strings.Replace(base, `"noise":"light"`, `"noise":"light","baseline":"l1"`, 1), `baseline: "l1"`},
		{"no fixed β to pick from", strings.Replace(base, `smoothl1:beta=1`, `l1`, 1), `baseline`},
		{"duplicate task", strings.Replace(base, `]}`, `,{"name":"r","task":"regress","noise":"heavy"}]}`, 1), `"r" is used twice`},
		{"duplicate variant", strings.Replace(base, `["smoothl1:beta=1"]`, `["smoothl1:beta=1","smoothl1:beta=1"]`, 1), `appears twice`},
		{"trailing data", base + `{}`, `data after`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.json))
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v; want ErrConfig naming %q", err, c.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "experiments: sweep config: ") {
				t.Errorf("error %q does not begin with ErrConfig's text", err)
			}
		})
	}
}

// TestLoadConfigErrorNamesTheFile: the file comes after ErrConfig's text, and the package
// prefix appears once.
func TestLoadConfigErrorNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte(`{"name":"x","seeds":0,"tasks":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path)
	want := "experiments: sweep config: " + path + ": seeds: 0: want 1 to 10000"
	if !errors.Is(err, ErrConfig) || err.Error() != want {
		t.Errorf("error %v; want ErrConfig reading %q", err, want)
	}
}

func TestOverrides(t *testing.T) {
	q, _ := Preset("quick")
	steps, err := ParseSteps("regress=30,detect=7")
	if err != nil {
		t.Fatal(err)
	}
	c, err := q.Apply(Overrides{Seeds: 5, Steps: steps, Tasks: []string{"detect", "regress-heavy"}, Variants: nil})
	if err != nil {
		t.Fatal(err)
	}
	if c.Seeds != 5 || len(c.Tasks) != 2 || c.Tasks[0].Name != "regress-heavy" || c.Tasks[0].Steps != 30 || c.Tasks[1].Steps != 7 {
		t.Errorf("got %+v", c)
	}
	if q.Seeds != 3 || q.Tasks[0].Steps == 30 {
		t.Error("Apply changed the config it was called on")
	}
	c, err = q.Apply(Overrides{Variants: []string{"l1", "smoothl1:beta=2"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range c.Tasks {
		if got := c.VariantsOf(task); len(got) != 2 || task.Baseline != "" {
			t.Errorf("%s: variants %v baseline %q", task.Name, got, task.Baseline)
		}
	}
	for name, o := range map[string]Overrides{
		"unknown task":        {Tasks: []string{"segment"}},
		"unknown steps task":  {Steps: map[string]int64{"segment": 3}},
		"bad variant":         {Variants: []string{"smoothl1:beta=x"}},
		"no fixed β variants": {Variants: []string{"l1", "dsl"}},
	} {
		if _, err := q.Apply(o); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, bad := range []string{"", "0", "x", "regress=", "a=1,b=-2"} {
		if _, err := ParseSteps(bad); err == nil {
			t.Errorf("ParseSteps(%q) accepted", bad)
		}
	}
}

func TestPlanIDsAndShards(t *testing.T) {
	q, _ := Preset("quick")
	runs, err := q.Plan()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := q.Plan()
	if len(runs) != 2*14*3+4*3 {
		t.Errorf("quick plans %d runs", len(runs))
	}
	for i := range runs {
		if runs[i].ID != again[i].ID {
			t.Fatalf("plan order is not deterministic at %d", i)
		}
	}
	if got := runs[len(runs)-1].ID; got != "detect_dsl_s3_ndefault" {
		t.Errorf("last ID %q", got)
	}
	if got := runs[0].ID; got != "regress-light_l1_s1_n120" {
		t.Errorf("first ID %q", got)
	}
	const n = 4
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		s, err := ParseShard(strings.Join([]string{string(rune('0' + i)), "4"}, "/"))
		if err != nil {
			t.Fatal(err)
		}
		sel := s.Select(runs)
		for k, r := range sel {
			seen[r.ID]++
			if want := runs[i+k*n].ID; r.ID != want {
				t.Fatalf("shard %v run %d is %s, want %s (every n-th)", s, k, r.ID, want)
			}
		}
	}
	if len(seen) != len(runs) {
		t.Errorf("shards cover %d of %d runs", len(seen), len(runs))
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s in %d shards", id, k)
		}
	}
	for _, bad := range []string{"2/2", "-1/3", "1", "a/b", "0/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

func TestConfigRoundTrip(t *testing.T) {
	q, _ := Preset("quick")
	path := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(path, q.JSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Equal(q) || ReproduceCommand(c) != "smoothl1 ablate --quick --out runs/NEW" {
		t.Errorf("round trip changed the config, or the command is %q", ReproduceCommand(c))
	}
	c.Seeds = 4
	if ReproduceCommand(c) != "smoothl1 ablate --config sweep.json --out runs/NEW" {
		t.Errorf("modified preset: %q", ReproduceCommand(c))
	}
}
