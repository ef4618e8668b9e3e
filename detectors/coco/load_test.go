package coco

import (
	"errors"
	"io/fs"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The fixture every error case starts from: a PNG and a JPEG, two categories whose ids are
// not contiguous, two good annotations.
var (
	goodImages = []string{
		`{"id": 1, "file_name": "a.png", "width": 20, "height": 10}`,
		`{"id": 2, "file_name": "b.jpg", "width": 16, "height": 16}`,
	}
	goodAnnotations = []string{
		`{"id": 10, "image_id": 1, "category_id": 3, "bbox": [1, 1, 5, 5], "area": 25, "iscrowd": 0}`,
		`{"id": 11, "image_id": 2, "category_id": 1, "bbox": [2, 2, 4, 4], "area": 16, "iscrowd": 1}`,
	}
	goodCategories = []string{`{"id": 3, "name": "cat"}`, `{"id": 1, "name": "dog"}`}
)

// fixtureDir writes the fixture's images and returns the folder.
func fixtureDir(t *testing.T) string {
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "a.png"), 20, 10, grey)
	writeImage(t, filepath.Join(dir, "b.jpg"), 16, 16, grey)
	return dir
}

func with(base []string, extra ...string) []string {
	return append(append([]string(nil), base...), extra...)
}

func TestLoadErrors(t *testing.T) {
	good := func(images, anns, cats []string) string { return cocoJSON(images, anns, cats) }
	ann := func(s string) []string { return with(goodAnnotations, s) }
	cases := []struct {
		name   string
		json   string
		setup  func(t *testing.T, dir string) // extra files
		strict bool
		want   error
		text   []string // substrings of the message besides the file name
	}{
		{name: "syntax error", json: "{\"images\": [\n  {\"id\": 1 \"file_name\": \"a.png\"}]}",
			want: ErrSyntax, text: []string{"coco: malformed JSON: ", "ann.json:2:12:", "after object key:value pair"}},
		{name: "truncated", json: "{\"images\": [\n  {\"id\": 1",
			want: ErrSyntax, text: []string{"coco: malformed JSON: ", "ann.json:2:10:", "unexpected end of JSON input"}},
		{name: "wrong type", json: good(goodImages, ann(`{"id": "12", "image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1]}`), goodCategories),
			want: ErrSyntax, text: []string{"coco: malformed JSON: ", "ann.json:9:13: annotations.id holds a JSON string, want int64"}},
		{name: "duplicate image id", json: good(with(goodImages, `{"id": 2, "file_name": "a.png", "width": 20, "height": 10}`), goodAnnotations, goodCategories),
			want: ErrDuplicateID, text: []string{"coco: duplicate id: ", "ann.json: image id 2"}},
		{name: "duplicate annotation id", json: good(goodImages, ann(`{"id": 11, "image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1]}`), goodCategories),
			want: ErrDuplicateID, text: []string{"coco: duplicate id: ", "ann.json: annotation id 11"}},
		{name: "duplicate category id", json: good(goodImages, goodAnnotations, with(goodCategories, `{"id": 3, "name": "cow"}`)),
			want: ErrDuplicateID, text: []string{"coco: duplicate id: ", "ann.json: category id 3"}},
		{name: "unknown image id", json: good(goodImages, ann(`{"id": 12, "image_id": 99, "category_id": 3, "bbox": [0, 0, 1, 1]}`), goodCategories),
			want: ErrUnknownImage, text: []string{"coco: unknown image id: ", "ann.json: annotation id 12: image_id 99"}},
		{name: "unknown category id", json: good(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 7, "bbox": [0, 0, 1, 1]}`), goodCategories),
			want: ErrUnknownCategory, text: []string{"coco: unknown category id: ", "ann.json: annotation id 12: category_id 7"}},
		{name: "bbox of 3 numbers", json: good(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [0, 0, 1]}`), goodCategories),
			want: ErrField, text: []string{"coco: bad field: ", "ann.json: annotation id 12: bbox has 3 numbers, want 4"}},
		{name: "bbox holds a string", json: good(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [0, "2", 1, 1]}`), goodCategories),
			want: ErrField, text: []string{"coco: bad field: ", `ann.json: annotation id 12: bbox[1] = "2" is not a number`}},
		{name: "bbox holds null", json: good(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [0, 0, null, 1]}`), goodCategories),
			want: ErrField, text: []string{"coco: bad field: ", `ann.json: annotation id 12: bbox[2] = null is not a number`}},
		{name: "iscrowd 2", json: good(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1], "iscrowd": 2}`), goodCategories),
			want: ErrField, text: []string{"coco: bad field: ", "ann.json: annotation id 12: iscrowd = 2, want 0 or 1"}},
		{name: "annotation without id", json: good(goodImages, ann(`{"image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1]}`), goodCategories),
			want: ErrField, text: []string{"coco: bad field: ", `ann.json: annotations[2]: missing "id"`}},
		{name: "annotation without image_id", json: good(goodImages, ann(`{"id": 12, "category_id": 3, "bbox": [0, 0, 1, 1]}`), goodCategories),
			want: ErrField, text: []string{"coco: bad field: ", `ann.json: annotation id 12: missing "image_id" or "category_id"`}},
		{name: "image without file_name", json: good(with(goodImages, `{"id": 3, "width": 20, "height": 10}`), goodAnnotations, goodCategories),
			want: ErrField, text: []string{"coco: bad field: ", `ann.json: image id 3: missing or empty "file_name"`}},
		{name: "image of width 0", json: good(with(goodImages, `{"id": 3, "file_name": "a.png", "width": 0, "height": 10}`), goodAnnotations, goodCategories),
			want: ErrField, text: []string{"coco: bad field: ", "ann.json: image id 3: size 0×10 is not positive"}},
		{name: "missing image file", json: good(with(goodImages, `{"id": 3, "file_name": "gone.png", "width": 20, "height": 10}`), goodAnnotations, goodCategories),
			want: fs.ErrNotExist, text: []string{"coco: missing image file: ", "ann.json: image id 3: ", "gone.png"}},
		{name: "text named .png", json: good(with(goodImages, `{"id": 3, "file_name": "text.png", "width": 20, "height": 10}`), goodAnnotations, goodCategories),
			setup: func(t *testing.T, dir string) { writeText(t, filepath.Join(dir, "text.png"), "hello") },
			want:  ErrImageFormat, text: []string{"coco: not a PNG or JPEG image: ", "text.png (image id 3): "}},
		{name: "GIF", json: good(with(goodImages, `{"id": 3, "file_name": "c.gif", "width": 20, "height": 10}`), goodAnnotations, goodCategories),
			setup: func(t *testing.T, dir string) { writeImage(t, filepath.Join(dir, "c.gif"), 20, 10, grey) },
			want:  ErrImageFormat, text: []string{"coco: not a PNG or JPEG image: ", "c.gif (image id 3): it is gif"}},
		{name: "size differs", json: good(with(goodImages, `{"id": 3, "file_name": "a.png", "width": 21, "height": 10}`), goodAnnotations, goodCategories),
			want: ErrImageSize, text: []string{"coco: image size differs from the JSON: ", "a.png (image id 3): file is 20×10, JSON says 21×10"}},
		{name: "strict NaN", strict: true, json: good(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [NaN, 0, 1, 1]}`), goodCategories),
			want: ErrBadBox, text: []string{"coco: bad box: ", "ann.json: annotation id 12: ", "a coordinate is not finite"}},
		{name: "strict overflow", strict: true, json: good(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [0, 0, 1e999, 1]}`), goodCategories),
			want: ErrBadBox, text: []string{"coco: bad box: ", "ann.json: annotation id 12: ", "a coordinate is not finite"}},
		{name: "strict zero width", strict: true, json: good(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [3, 3, 0, 1]}`), goodCategories),
			want: ErrBadBox, text: []string{"coco: bad box: ", "ann.json: annotation id 12: ", "zero or negative width or height"}},
		{name: "strict outside", strict: true, json: good(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [25, 3, 4, 4]}`), goodCategories),
			want: ErrBadBox, text: []string{"coco: bad box: ", "ann.json: annotation id 12: ", "in a 20×10 image: entirely outside the image"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fixtureDir(t)
			if c.setup != nil {
				c.setup(t, dir)
			}
			path := filepath.Join(dir, "ann.json")
			writeText(t, path, c.json)
			ds, err := Load(path, dir, LoadOptions{Strict: c.strict})
			if err == nil {
				t.Fatalf("Load succeeded with %d images, want an error", len(ds.Images))
			}
			if !errors.Is(err, c.want) {
				t.Errorf("error %q does not wrap %q", err, c.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "coco: ") || !strings.Contains(msg, dir) {
				t.Errorf("error %q does not start with \"coco: \" and name a file in %s", msg, dir)
			}
			if n := strings.Count(msg, "coco: "); n != 1 {
				t.Errorf("error %q holds \"coco: \" %d times, want once", msg, n)
			}
			for _, s := range c.text {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not contain %q", msg, s)
				}
			}
		})
	}
}

// TestLoadBadBoxPolicy: the lenient policy, one annotation per branch. Expected values by
// hand from the policy in doc.go.
func TestLoadBadBoxPolicy(t *testing.T) {
	dir := fixtureDir(t)
	anns := with(goodAnnotations,
		`{"id": 20, "image_id": 1, "category_id": 3, "bbox": [NaN, 0, 1, 1]}`,
		`{"id": 21, "image_id": 1, "category_id": 3, "bbox": [0, Infinity, 1, 1]}`,
		`{"id": 22, "image_id": 1, "category_id": 3, "bbox": [0, 0, -Infinity, 1]}`,
		`{"id": 23, "image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1e999]}`,
		`{"id": 24, "image_id": 1, "category_id": 3, "bbox": [1e308, 0, 1e308, 1]}`, // x + w overflows
		`{"id": 25, "image_id": 1, "category_id": 3, "bbox": [3, 3, 0, 2]}`,
		`{"id": 26, "image_id": 1, "category_id": 3, "bbox": [3, 3, 2, -1]}`,
		`{"id": 27, "image_id": 1, "category_id": 3, "bbox": [-9, 2, 4, 4]}`,    // left of the image
		`{"id": 28, "image_id": 1, "category_id": 3, "bbox": [20, 2, 4, 4]}`,    // touches the right edge only
		`{"id": 29, "image_id": 1, "category_id": 3, "bbox": [-2, 6, 30, 9.5]}`, // overruns three sides
		`{"id": 30, "image_id": 1, "category_id": 1, "bbox": [4, 4, 2, 2], "iscrowd": 1, "area": NaN}`,
	)
	cats := []string{`{"id": 3, "name": "NaN -Infinity \"Infinity\""}`, `{"id": 1, "name": "dog"}`}
	path := filepath.Join(dir, "ann.json")
	writeText(t, path, cocoJSON(goodImages, anns, cats))
	ds, err := Load(path, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Skipped{NonFinite: 5, Degenerate: 2, Outside: 2}); ds.Skipped != want {
		t.Errorf("Skipped = %+v, want %+v", ds.Skipped, want)
	}
	if ds.Skipped.Total() != 9 || ds.Clipped != 1 {
		t.Errorf("Total = %d, Clipped = %d; want 9, 1", ds.Skipped.Total(), ds.Clipped)
	}
	if got := ds.Categories[1].Name; got != `NaN -Infinity "Infinity"` {
		t.Errorf("a name holding NaN was rewritten: %q", got)
	}
	objs := ds.Images[0].Objects
	if len(objs) != 3 {
		t.Fatalf("image 1 keeps %d objects, want 3: %+v", len(objs), objs)
	}
	clipped := objs[1]
	if clipped.AnnotationID != 29 || clipped.Box != [4]float64{0, 6, 20, 10} || clipped.Area != 20*4 {
		t.Errorf("clipped object = %+v, want id 29, box [0 6 20 10], area 80 (clipped w·h)", clipped)
	}
	crowd := objs[2]
	if crowd.AnnotationID != 30 || !crowd.Crowd || crowd.Label != 0 || crowd.Area != 4 {
		t.Errorf("crowd object = %+v, want id 30, crowd, label 0, area 4 (w·h for a NaN area)", crowd)
	}
}

// TestLoadRoundTrip: Instances → WriteInstances → Load → Instances gives the input back,
// sorted by id, and a second trip gives the same Dataset.
func TestLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "x.png"), 40, 30, grey)
	writeImage(t, filepath.Join(dir, "y.jpg"), 24, 32, grey)
	in := &Instances{
		Images: []Image{{ID: 9, FileName: "y.jpg", Width: 24, Height: 32}, {ID: 4, FileName: "x.png", Width: 40, Height: 30}},
		Annotations: []Annotation{
			{ID: 5, ImageID: 4, CategoryID: 12, BBox: [4]float64{1.5, 2.25, 10, 20}, Area: 150.5},
			{ID: 2, ImageID: 4, CategoryID: 3, BBox: [4]float64{0, 0, 40, 30}, Area: 1200, IsCrowd: 1},
			{ID: 7, ImageID: 9, CategoryID: 7, BBox: [4]float64{3, 4, 5, 6}, Area: 30},
		},
		Categories: []Category{{ID: 7, Name: "seven"}, {ID: 3, Name: "three"}, {ID: 12, Name: "twelve"}},
	}
	path := filepath.Join(dir, "ann.json")
	if err := WriteInstances(path, in); err != nil {
		t.Fatal(err)
	}
	ds, err := Load(path, dir, LoadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]int{3: 0, 7: 1, 12: 2} {
		if got, ok := ds.Label(id); !ok || got != want || ds.CategoryID(want) != id {
			t.Errorf("Label(%d) = %d, %v; want %d and CategoryID back", id, got, ok, want)
		}
	}
	if _, ok := ds.Label(1); ok || ds.NumClasses() != 3 {
		t.Errorf("Label(1) found or NumClasses = %d ≠ 3", ds.NumClasses())
	}
	want := &Instances{
		Images:      []Image{in.Images[1], in.Images[0]},
		Annotations: []Annotation{in.Annotations[1], in.Annotations[0], in.Annotations[2]},
		Categories:  []Category{in.Categories[1], in.Categories[0], in.Categories[2]},
	}
	if got := ds.Instances(); !reflect.DeepEqual(got, want) {
		t.Errorf("Instances() =\n%+v\nwant\n%+v", got, want)
	}
	path2 := filepath.Join(dir, "again.json")
	if err := WriteInstances(path2, ds.Instances()); err != nil {
		t.Fatal(err)
	}
	ds2, err := Load(path2, dir, LoadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	ds2.AnnotationPath = ds.AnnotationPath
	if !reflect.DeepEqual(ds, ds2) {
		t.Errorf("second trip differs:\n%+v\n%+v", ds, ds2)
	}
	if o := ds.Images[0].Objects[1]; o.Box != [4]float64{1.5, 2.25, 11.5, 22.25} || o.Label != 2 {
		t.Errorf("object 5 = %+v, want box [1.5 2.25 11.5 22.25] (xywh → xyxy), label 2", o)
	}
}

func TestWriteInstancesRejectsNaN(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.json")
	err := WriteInstances(path, &Instances{Annotations: []Annotation{{ID: 1, BBox: [4]float64{math.NaN(), 0, 1, 1}}}})
	if err == nil || !strings.Contains(err.Error(), "annotations[0]") {
		t.Errorf("err = %v, want one naming annotations[0]", err)
	}
}

func TestLoadPNGAndJPEG(t *testing.T) {
	dir := fixtureDir(t)
	path := filepath.Join(dir, "ann.json")
	writeText(t, path, cocoJSON(goodImages, goodAnnotations, goodCategories))
	ds, err := Load(path, dir, LoadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(ds, LoaderOptions{Size: 32, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	for b := range l.EvalBatches(1) {
		// The top-left pixel is image content: grey 128 in both formats (JPEG within 2 levels).
		for c := range 3 {
			v := b.Images[c*32*32]*DefaultStd[c] + DefaultMean[c]
			if math.Abs(float64(v)*255-128) > 2 {
				t.Errorf("image %d channel %d: pixel %v, want 128/255", b.Samples[0].ImageID, c, v*255)
			}
		}
	}
}

func TestXYWHRoundTrip(t *testing.T) {
	for _, b := range [][4]float64{{0, 0, 1, 1}, {1.5, -2.25, 3.125, 0}, {1e6, 1e-6, 7, 9}} {
		if got := XYXYToXYWH(XYWHToXYXY(b)); got != b {
			t.Errorf("XYXYToXYWH(XYWHToXYXY(%v)) = %v", b, got)
		}
	}
}

func TestLineCol(t *testing.T) {
	data := []byte("ab\ncde\n\nf")
	for _, c := range []struct {
		offset    int64
		line, col int
	}{{0, 1, 1}, {1, 1, 1}, {2, 1, 2}, {3, 1, 3}, {4, 2, 1}, {6, 2, 3}, {9, 4, 1}, {99, 4, 2}} {
		if l, k := lineCol(data, c.offset); l != c.line || k != c.col {
			t.Errorf("lineCol(%d) = %d:%d, want %d:%d", c.offset, l, k, c.line, c.col)
		}
	}
}
