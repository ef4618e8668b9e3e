package runcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTree: each kind of damage is reported, and only the ones a kill may leave are allowed
// right after a kill.
func TestTree(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("final.json", `{"ap": 0.5}`)
	write("run/metrics.jsonl", "{\"step\":1}\n{\"step\":2}\n{\"st")
	got, err := Tree(dir, true)
	if err != nil || len(got) != 0 {
		t.Fatalf("after a kill: %v, %v", got, err)
	}
	got, _ = Tree(dir, false)
	if len(got) == 0 || !strings.Contains(got[0], "partial line") {
		t.Errorf("not killed: %v", got)
	}
	write("run/.final.json.tmp-12", `{"a`)
	write("report.json", `{"a": `)
	write("run/checkpoint.ckpt", "not a checkpoint")
	write("run/other.jsonl", "{}\nnot json\n")
	got, _ = Tree(dir, true)
	want := []string{"report.json is not valid JSON", "bad checkpoint", "other.jsonl line 2 is not JSON"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %d problems", got, len(want))
	}
	for _, w := range want {
		if !strings.Contains(strings.Join(got, "\n"), w) {
			t.Errorf("no problem mentions %q: %q", w, got)
		}
	}
	got, _ = Tree(dir, false)
	if !strings.Contains(strings.Join(got, "\n"), "temporary file left") {
		t.Errorf("temporary file not reported: %q", got)
	}
	if got, _ := Tree(t.TempDir(), true); len(got) != 1 || !strings.Contains(got[0], "no JSON file") {
		t.Errorf("empty folder: %q", got)
	}
}
