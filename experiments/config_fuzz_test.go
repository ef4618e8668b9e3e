package experiments

import (
	"errors"
	"os"
	"testing"
)

// FuzzParseConfig parses arbitrary bytes as a sweep config. Invariants: no panic; an error
// wraps ErrConfig; a config that parses validates, its JSON (what sweep.json holds, read back
// on resume) parses back to an Equal config whose JSON is the same bytes, Apply with no
// overrides (a clone through that JSON) changes nothing, and, when it is small enough to list,
// its plan has one run per task, variant and seed.
func FuzzParseConfig(f *testing.F) {
	for _, path := range []string{"testdata/tiny.json", "testdata/resume.json", "../docs/ablate-example.json"} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, name := range []string{"quick", "full"} {
		c, err := Preset(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c.JSON())
	}
	base := `{"name":"x","seeds":2,"variants":["smoothl1:beta=1"],"tasks":[{"name":"r","task":"regress","noise":"light"}]}`
	for _, s := range []string{
		base,
		`{"name":"x","seeds":2,"sedes":3,"tasks":[]}`,
		`{"name":"x","seeds":"two","tasks":[]}`,
		base + `{}`,
		`{"name":"\u00e9<&>\u2028","seeds":1,"threads":0,"variants":[" l1 ","smoothl1:beta=0x1p-3"],"tasks":[{"name":"d_1-x","task":"detect","data":"/tmp/x","variants":[],"baseline":"smoothl1:beta=0x1p-3","lr":-0,"weight_decay":-1,"clip":-1,"warmup":-1}]}`,
		`{"name":"x","seeds":1,"tasks":[{"name":"r","task":"regress","noise":"heavy","variants":["dsl:interval=1000000000000","smoothl1"],"optimizer":"sgd","decay":"cosine"}]}`,
		`{"name":"x","seeds":1,"variants":["smoothl1","smoothl1:beta=1"],"tasks":[{"name":"r","task":"regress","noise":"light"}]}`,
		`{"name":"x","seeds":1,"variants":["smoothl1: beta=1","smoothl1:beta = 1"],"tasks":[{"name":"r","task":"regress","noise":"light"}]}`,
		`{"name":"x","seeds":9223372036854775807,"variants":["smoothl1"],"tasks":[{"name":"r","task":"regress","noise":"light","steps":9223372036854775807}]}`,
		`null`, ``, `[]`, `{"tasks":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
		js := c.JSON()
		again, err := ParseConfig(js)
		if err != nil {
			t.Fatalf("the JSON of a parsed config does not parse: %v\n%s", err, js)
		}
		if !again.Equal(c) || string(again.JSON()) != string(js) {
			t.Fatalf("config changed through its JSON:\n%s\n%s", js, again.JSON())
		}
		if same, err := c.Apply(Overrides{}); err != nil || !same.Equal(c) {
			t.Fatalf("Apply(Overrides{}) = %v, changed: %v", err, !same.Equal(c))
		}
		want := 0
		for _, task := range c.Tasks {
			want += len(c.VariantsOf(task)) * c.Seeds
		}
		if c.Seeds > 20 || want > 2000 {
			return
		}
		runs, err := c.Plan()
		if err != nil || len(runs) != want {
			t.Fatalf("Plan: %d runs, %v; want %d runs", len(runs), err, want)
		}
	})
}
