package coco

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestResultsRoundTrip(t *testing.T) {
	// Oracle: the values written. Random boxes and scores, including tiny and huge ones,
	// must read back bit for bit (shortest round-trip formatting).
	r := rand.New(rand.NewPCG(1, 2))
	var rs []Result
	for i := range 200 {
		rs = append(rs, Result{
			ImageID: r.Int64N(1 << 40), CategoryID: int64(1 + i%90),
			BBox:  [4]float64{r.Float64() * 640, r.Float64() * 480, r.ExpFloat64() * 50, math.Ldexp(r.Float64()+0.5, r.IntN(40)-20)},
			Score: r.Float64(),
		})
	}
	rs = append(rs, Result{ImageID: 1, CategoryID: 1, BBox: [4]float64{0, 0, 0, 0}, Score: -3})
	path := filepath.Join(t.TempDir(), "dets.json")
	if err := WriteResults(path, rs); err != nil {
		t.Fatal(err)
	}
	got, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rs) {
		t.Fatal("results differ after a write and a read")
	}
	// An empty list is a valid file, "[]".
	if err := WriteResults(path, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadResults(path); err != nil || len(got) != 0 {
		t.Fatalf("empty file: %v, %v", got, err)
	}
}

func TestReadResultsErrors(t *testing.T) {
	ok := `{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.5}`
	cases := []struct {
		name, json string
		want       error
		says       string
	}{
		{"not an array", `{"image_id": 1}`, ErrSyntax, "JSON array"},
		{"syntax", "[\n" + ok + ",\n{\"image_id\": 1,}]", ErrSyntax, ":3:"},
		{"id a string", `[{"image_id": "1", "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.5}]`, ErrSyntax, "image_id"},
		{"id a float", `[{"image_id": 1.5, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.5}]`, ErrSyntax, "image_id"},
		{"missing image_id", `[` + ok + `, {"category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.5}]`, ErrField, `entry 1: missing "image_id"`},
		{"missing category_id", `[{"image_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]`, ErrField, `entry 0: missing "category_id"`},
		{"missing bbox", `[{"image_id": 1, "category_id": 3, "score": 0.5}]`, ErrField, `entry 0: missing "bbox"`},
		{"missing score", `[{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]}]`, ErrField, `entry 0: missing "score"`},
		{"short bbox", `[{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3], "score": 0.5}]`, ErrField, "bbox has 3 numbers"},
		{"bbox string", `[{"image_id": 1, "category_id": 3, "bbox": [1, "2", 3, 4], "score": 0.5}]`, ErrField, "bbox[1]"},
		{"NaN score", `[{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "score": NaN}]`, ErrField, "score = NaN"},
		{"NaN bbox", `[` + ok + `, ` + ok + `, {"image_id": 1, "category_id": 3, "bbox": [1, NaN, 3, 4], "score": 0.5}]`, ErrBadBox, "entry 2"},
		{"Infinity bbox", `[{"image_id": 1, "category_id": 3, "bbox": [1, 2, Infinity, 4], "score": 0.5}]`, ErrBadBox, "+Inf"},
		{"overflowing number", `[{"image_id": 1, "category_id": 3, "bbox": [1, 2, 1e999, 4], "score": 0.5}]`, ErrBadBox, "+Inf"},
		{"negative width", `[{"image_id": 1, "category_id": 3, "bbox": [1, 2, -3, 4], "score": 0.5}]`, ErrBadBox, "negative"},
		{"area underflows", `[{"image_id": 1, "category_id": 3, "bbox": [0, 0, 1e-170, 1e-170], "score": 0.5}]`, ErrBadBox, "underflows"},
		{"area overflows", `[{"image_id": 1, "category_id": 3, "bbox": [0, 0, 1e200, 1e200], "score": 0.5}]`, ErrBadBox, "overflows"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dets.json")
			writeText(t, path, tc.json)
			_, err := ReadResults(path)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) || !strings.HasPrefix(err.Error(), "coco: ") {
				t.Fatalf("err = %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
}

func TestCheckResults(t *testing.T) {
	dir := fixtureDir(t)
	writeText(t, filepath.Join(dir, "ann.json"), cocoJSON(goodImages, goodAnnotations, goodCategories))
	ds, err := Load(filepath.Join(dir, "ann.json"), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good := Result{ImageID: 2, CategoryID: 3, BBox: [4]float64{1, 1, 2, 2}, Score: 1}
	if err := ds.CheckResults([]Result{good}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		r    Result
		want error
		says string
	}{
		{"unknown image", Result{ImageID: 5, CategoryID: 3}, ErrUnknownImage, "entry 1: image_id 5"},
		{"unknown category (a gap in the ids)", Result{ImageID: 1, CategoryID: 2}, ErrUnknownCategory, "entry 1: category_id 2"},
	}
	for _, tc := range cases {
		err := ds.CheckResults([]Result{good, tc.r})
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: err = %v, want %v saying %q", tc.name, err, tc.want, tc.says)
		}
	}
}

func TestWriteResultsRefusesBadEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dets.json")
	for _, r := range []Result{
		{BBox: [4]float64{0, 0, math.NaN(), 1}},
		{BBox: [4]float64{0, 0, 1, 1}, Score: math.Inf(1)},
	} {
		if err := WriteResults(path, []Result{r}); err == nil || !strings.Contains(err.Error(), "entry 0") {
			t.Errorf("%v: err = %v", r, err)
		}
	}
}

func TestLoadRefusesEscapingFileName(t *testing.T) {
	// A file_name that leaves the image folder would let an annotation file read any file.
	for _, name := range []string{"../a.png", "sub/../../a.png", "/etc/passwd", ".."} {
		dir := fixtureDir(t)
		images := []string{`{"id": 1, "file_name": "` + name + `", "width": 20, "height": 10}`}
		writeText(t, filepath.Join(dir, "ann.json"), cocoJSON(images, nil, goodCategories))
		_, err := Load(filepath.Join(dir, "ann.json"), filepath.Join(dir, "images"), LoadOptions{NoImageFiles: true})
		if !errors.Is(err, ErrField) || !strings.Contains(err.Error(), "leaves the image folder") {
			t.Errorf("%q: err = %v", name, err)
		}
	}
	// Inside the folder, through a sub-folder, is fine.
	dir := fixtureDir(t)
	images := []string{`{"id": 1, "file_name": "x/../a.png", "width": 20, "height": 10}`}
	writeText(t, filepath.Join(dir, "ann.json"), cocoJSON(images, nil, goodCategories))
	if _, err := Load(filepath.Join(dir, "ann.json"), dir, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestLoadNoImageFiles(t *testing.T) {
	// Without the pictures, the JSON alone loads with NoImageFiles and not without it.
	dir := t.TempDir()
	writeText(t, filepath.Join(dir, "ann.json"), cocoJSON(goodImages, goodAnnotations, goodCategories))
	if _, err := Load(filepath.Join(dir, "ann.json"), dir, LoadOptions{}); !errors.Is(err, ErrMissingImage) {
		t.Fatalf("err = %v, want ErrMissingImage", err)
	}
	ds, err := Load(filepath.Join(dir, "ann.json"), dir, LoadOptions{NoImageFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Images) != 2 || ds.Images[0].Objects[0].FileBox != [4]float64{1, 1, 5, 5} {
		t.Fatalf("images %+v", ds.Images)
	}
}
