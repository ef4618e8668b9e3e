package coco

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzReadResults: any bytes either read as results that every check accepts and that write
// and read back unchanged, or give an error wrapping one of the package's errors, with the
// "coco: " prefix; never a panic.
func FuzzReadResults(f *testing.F) {
	for _, s := range []string{
		`[]`,
		`[{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.5}]`,
		`[{"image_id": 1, "category_id": 3, "bbox": [1, NaN, 3, 4], "score": 0.5}]`,
		`[{"image_id": 1, "category_id": 3, "bbox": [0, 0, 1e-170, 1e-170], "score": 1}]`,
		`[{"image_id": 1, "category_id": 3, "bbox": [0, 0, 1e200, 1e200], "score": -Infinity}]`,
		`[{"image_id": 1.5, "bbox": [1, 2, 3], "segmentation": [[1, 2]]}]`,
		`{"image_id": 1}`,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "in.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rs, err := ReadResults(path)
		if err != nil {
			wrapped := false
			for _, e := range cocoErrors {
				wrapped = wrapped || errors.Is(err, e)
			}
			if !wrapped || !strings.HasPrefix(err.Error(), "coco: ") {
				t.Fatalf("error %q wraps none of the package's errors", err)
			}
			return
		}
		for i, r := range rs {
			if err := CheckResultBox(r.BBox); err != nil {
				t.Fatalf("entry %d accepted with a bad box: %v", i, err)
			}
		}
		out := filepath.Join(dir, "out.json")
		if err := WriteResults(out, rs); err != nil {
			t.Fatalf("accepted results do not write: %v", err)
		}
		back, err := ReadResults(out)
		if err != nil || !reflect.DeepEqual(back, rs) && !(len(back) == 0 && len(rs) == 0) {
			t.Fatalf("round trip: %v, %v, want %v", back, err, rs)
		}
	})
}
