// Package runcheck checks that the files of run and sweep folders are intact, for the tests
// that kill training and sweeps: the reliability promise is that no file a user or a resume
// reads is ever truncated or corrupt.
package runcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/trainer"
)

// Tree walks root and returns a problem per bad file: a .json file that does not parse, a
// .jsonl line that is not JSON, a .ckpt file that fails trainer.VerifyCheckpoint. With killed
// (right after a SIGKILL) a .jsonl file may end in a partial line — metrics past the last
// checkpoint are provisional and the resume truncates them — and atomicfile's temporary files
// may remain; otherwise a partial line or a temporary file is a problem too. It also fails
// when root holds no JSON file at all (a check that checked nothing).
func Tree(root string, killed bool) ([]string, error) {
	var problems []string
	var files int
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		name := e.Name()
		if atomicfile.IsTemp(name) {
			if !killed {
				problems = append(problems, "temporary file left: "+path)
			}
			return nil
		}
		switch {
		case strings.HasSuffix(name, ".json"):
			files++
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !json.Valid(b) {
				problems = append(problems, fmt.Sprintf("%s is not valid JSON (%d bytes)", path, len(b)))
			}
		case strings.HasSuffix(name, ".jsonl"):
			files++
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if i := bytes.LastIndexByte(b, '\n'); killed {
				b = b[:i+1]
			} else if i != len(b)-1 {
				problems = append(problems, path+" ends in a partial line")
			}
			if len(b) > 0 {
				for n, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
					if !json.Valid(line) {
						problems = append(problems, fmt.Sprintf("%s line %d is not JSON", path, n+1))
					}
				}
			}
		case strings.HasSuffix(name, ".ckpt"):
			if err := trainer.VerifyCheckpoint(path); err != nil {
				problems = append(problems, err.Error())
			}
		}
		return nil
	})
	if err == nil && files == 0 {
		problems = append(problems, "no JSON file under "+root)
	}
	return problems, err
}

// Check fails t for every problem Tree finds under root (and stops it if the walk fails).
func Check(t testing.TB, root string, killed bool) {
	t.Helper()
	problems, err := Tree(root, killed)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
