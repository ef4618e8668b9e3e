// Package archtest checks the module's architecture: imports go one way through the layers
// of docs/architecture.md, the pure-Go packages never reach gotch, test support stays out of
// the product, and the import list in docs/architecture.md is the real one
// (`go test ./internal/archtest -update` rewrites it).
package archtest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/smoothl1/smoothl1"

var update = flag.Bool("update", false, "rewrite the import list in docs/architecture.md")

// layers: a package may import packages of lower layers only (and, within the detector
// layer, the detector its parts). Order: core math → schedulers → specs → tensor losses and
// collectives → training loop → tasks and the detector → recipe → experiments → bench → the command.
var layers = map[string]int{
	"internal/atomicfile": 0, "internal/rss": 0, "internal/benchdata": 0, "internal/strictjson": 0, "internal/simd": 0, "internal/plots": 1,
	"stats": 1, "static": 1,
	"dynamic": 2,
	"spec":    3,
	// libtorch from here on
	"torchthread":     4,
	"tensorloss":      5,
	"distributed":     5,
	"trainer":         6,
	"detectors/boxes": 7, "detectors/coco": 7, "detectors/cocoeval": 7, "detectors/draw": 7,
	"regress": 8, "detectors": 8,
	"recipe":       9,
	"experiments":  10,
	"bench":        11,
	"cmd/smoothl1": 12, "examples/scheduler": 12, "examples/gotchloop": 12, "examples/ablation": 12,
}

// pure are the packages that build with CGO_ENABLED=0 and never import gotch, even indirectly.
var pure = []string{"stats", "static", "dynamic", "spec", "detectors/boxes", "detectors/coco",
	"detectors/cocoeval", "detectors/draw", "internal/atomicfile", "internal/benchdata", "internal/strictjson", "internal/simd", "examples/scheduler"}

type pkg struct {
	ImportPath string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

// list returns the module's packages (without their tests) by path relative to the module.
func list(t *testing.T) (map[string]pkg, string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	cmd := exec.Command(goCmd, "list", "-json", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if len(p.GoFiles) == 0 { // a folder of tests only (./examples)
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		pkgs[rel] = p
	}
	return pkgs, root
}

// own returns the module's packages among paths, relative to the module.
func own(paths []string) []string {
	var out []string
	for _, p := range paths {
		if rel, ok := strings.CutPrefix(p, module+"/"); ok {
			out = append(out, rel)
		}
	}
	sort.Strings(out)
	return out
}

func TestLayers(t *testing.T) {
	pkgs, _ := list(t)
	for name, p := range pkgs {
		if strings.HasPrefix(name, "internal/testsupport/") || name == "internal/archtest" {
			continue
		}
		from, ok := layers[name]
		if !ok {
			t.Errorf("package %s has no layer: add it to archtest's layers and docs/architecture.md", name)
			continue
		}
		for _, imp := range own(p.Imports) {
			if strings.HasPrefix(imp, "internal/testsupport/") {
				t.Errorf("%s imports test support %s", name, imp)
				continue
			}
			to := layers[imp]
			if to > from || (to == from && !(name == "detectors" && strings.HasPrefix(imp, "detectors/"))) {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must go down the layers", name, from, imp, to)
			}
		}
	}
}

func TestPureNeverReachesGotch(t *testing.T) {
	pkgs, _ := list(t)
	for _, name := range pure {
		p, ok := pkgs[name]
		if !ok {
			t.Errorf("pure package %s not found", name)
			continue
		}
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "github.com/sugarme/gotch") || d == "C" || d == "runtime/cgo" {
				t.Errorf("%s depends on %s: it must stay pure Go", name, d)
			}
		}
	}
}

// TestArchitectureDoc: the import list between the markers of docs/architecture.md is what
// go list reports.
func TestArchitectureDoc(t *testing.T) {
	pkgs, root := list(t)
	var names []string
	for name := range pkgs {
		if !strings.HasPrefix(name, "internal/testsupport/") && name != "internal/archtest" {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if layers[names[i]] != layers[names[j]] {
			return layers[names[i]] < layers[names[j]]
		}
		return names[i] < names[j]
	})
	var b strings.Builder
	b.WriteString("```\n")
	for _, name := range names {
		imps := own(pkgs[name].Imports)
		arrow := "(nothing of the module)"
		if len(imps) > 0 {
			arrow = strings.Join(imps, ", ")
		}
		fmt.Fprintf(&b, "%-2d %-20s → %s\n", layers[name], name, arrow)
	}
	b.WriteString("```\n")
	path := filepath.Join(root, "docs", "architecture.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- imports:begin (go test ./internal/archtest -update) -->\n", "<!-- imports:end -->"
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s has no import list between %q and %q", path, begin, end)
	}
	got := string(doc[i+len(begin) : j])
	if got == b.String() {
		return
	}
	if *update {
		out := append(append(append([]byte{}, doc[:i+len(begin)]...), b.String()...), doc[j:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the import list in docs/architecture.md is stale (go test ./internal/archtest -update):\n%s\nwant\n%s", got, b.String())
}
