package boxes

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The golden file is written by testdata/gen_golden.py with torchvision 0.14 (torch
// 1.13) in float64; see its header. The tests only read it.

type goldenFile struct {
	TorchVersion       string `json:"torch_version"`
	TorchvisionVersion string `json:"torchvision_version"`
	IoU                []struct {
		Name string     `json:"name"`
		A    []Box      `json:"a"`
		B    []Box      `json:"b"`
		IoU  []*float64 `json:"iou"` // nil where torchvision gives NaN
	} `json:"iou"`
	NMS []struct {
		Name       string    `json:"name"`
		Boxes      []Box     `json:"boxes"`
		Scores     []float64 `json:"scores"`
		Thresholds []float64 `json:"thresholds"`
		Keep       [][]int   `json:"keep"`
	} `json:"nms"`
	Batched []struct {
		Name            string    `json:"name"`
		Boxes           []Box     `json:"boxes"`
		Scores          []float64 `json:"scores"`
		Classes         []int     `json:"classes"`
		Threshold       float64   `json:"threshold"`
		Keep            []int     `json:"keep"`
		Path            string    `json:"path"`
		TorchSortStable bool      `json:"torch_sort_stable"`
	} `json:"batched"`
	Coder []struct {
		Name       string     `json:"name"`
		Weights    [4]float64 `json:"weights"`
		ScaleClamp float64    `json:"scale_clamp"`
		Anchors    []Box      `json:"anchors"`
		GT         []Box      `json:"gt"`
		Encoded    []float64  `json:"encoded"`
		Deltas     []float64  `json:"deltas"`
		Decoded    []float64  `json:"decoded"`
	} `json:"coder"`
	Matcher []struct {
		Name      string    `json:"name"`
		NGT       int       `json:"n_gt"`
		NAnchors  int       `json:"n_anchors"`
		IoU       []float64 `json:"iou"`
		ZeroIoUGT bool      `json:"zero_iou_gt"`
		Results   []struct {
			Positive        float64 `json:"positive"`
			Negative        float64 `json:"negative"`
			AllowLowQuality bool    `json:"allow_low_quality"`
			Matches         []int   `json:"matches"`
		} `json:"results"`
	} `json:"matcher"`
}

func readGolden(t *testing.T) goldenFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.IoU) == 0 || len(g.NMS) == 0 || len(g.Batched) == 0 || len(g.Coder) == 0 || len(g.Matcher) == 0 {
		t.Fatal("golden.json: a section is empty")
	}
	return g
}

// goldenTol is the tolerance against torchvision's float64 results: relative, plus the
// same absolute near 0. IoU is evaluated in torchvision's order of operations and agrees
// bit for bit; the coder differs by an ulp or two where exp and log do (Go's math
// against torch's vectorised kernels).
const goldenTol = 1e-12

func close(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*(1+math.Abs(want))
}

func TestGoldenIoU(t *testing.T) {
	g := readGolden(t)
	for _, c := range g.IoU {
		t.Run(c.Name, func(t *testing.T) {
			got := IoU(nil, c.A, c.B)
			if len(got) != len(c.IoU) || len(got) != len(c.A)*len(c.B) {
				t.Fatalf("len %d, torchvision %d", len(got), len(c.IoU))
			}
			nans := 0
			for k, w := range c.IoU {
				if w == nil { // torchvision: 0/0; boxes: 0 (documented deviation)
					nans++
					if got[k] != 0 {
						t.Errorf("[%d,%d] = %v, want 0 where torchvision gives NaN", k/len(c.B), k%len(c.B), got[k])
					}
					continue
				}
				if !close(got[k], *w, goldenTol) {
					t.Errorf("[%d,%d] = %v, torchvision %v", k/len(c.B), k%len(c.B), got[k], *w)
				}
			}
			if c.Name == "special x special" && nans == 0 {
				t.Error("expected torchvision NaNs for zero-area pairs in this case")
			}
		})
	}
}

func TestGoldenNMS(t *testing.T) {
	g := readGolden(t)
	for _, c := range g.NMS {
		for k, th := range c.Thresholds {
			got := NMS(c.Boxes, c.Scores, th)
			if !slices.Equal(got, c.Keep[k]) || got == nil {
				t.Errorf("%s, iou > %v: got %v, torchvision %v", c.Name, th, got, c.Keep[k])
			}
		}
	}
}

// TestGoldenBatchedNMS compares with torchvision.ops.batched_nms. Up to 1000 boxes
// torchvision offsets the boxes by class and runs one NMS (one stable sort): the order
// must match exactly. Above, it loops over classes and ends with an unstable sort, so
// equal scores may come out in any order; there the kept set and the score order must
// match, and ours keeps equal scores in index order.
func TestGoldenBatchedNMS(t *testing.T) {
	g := readGolden(t)
	sawUnstable := false
	for _, c := range g.Batched {
		t.Run(c.Name, func(t *testing.T) {
			got := BatchedNMS(c.Boxes, c.Scores, c.Classes, c.Threshold)
			want := c.Keep
			if !c.TorchSortStable {
				sawUnstable = true
				want = slices.Clone(want)
				for lo := 0; lo < len(want); {
					hi := lo + 1
					for hi < len(want) && c.Scores[want[hi]] == c.Scores[want[lo]] {
						hi++
					}
					slices.Sort(want[lo:hi])
					lo = hi
				}
			}
			if !slices.Equal(got, want) || got == nil {
				t.Errorf("got %v\nwant %v (torchvision %v, %s path)", got, want, c.Keep, c.Path)
			}
		})
	}
	if !sawUnstable {
		t.Log("note: torchvision's per-class path kept equal scores in index order this time")
	}
}

func TestGoldenCoder(t *testing.T) {
	g := readGolden(t)
	if g.Coder[0].ScaleClamp != DefaultScaleClamp {
		t.Errorf("DefaultScaleClamp = %v, torchvision bbox_xform_clip %v", DefaultScaleClamp, g.Coder[0].ScaleClamp)
	}
	for _, c := range g.Coder {
		t.Run(c.Name, func(t *testing.T) {
			coder := Coder{Weights: c.Weights}
			enc := coder.Encode(nil, c.Anchors, c.GT)
			for k := range enc {
				if !close(enc[k], c.Encoded[k], goldenTol) {
					t.Errorf("encode [%d,%d] = %v, torchvision %v", k/4, k%4, enc[k], c.Encoded[k])
				}
			}
			dec := coder.Decode(nil, c.Anchors, c.Deltas)
			clamped := 0
			for i, b := range dec {
				for k := range b {
					if !close(b[k], c.Decoded[4*i+k], goldenTol) {
						t.Errorf("decode [%d,%d] = %v, torchvision %v", i, k, b[k], c.Decoded[4*i+k])
					}
				}
				if c.Deltas[4*i+2]/c.Weights[2] > DefaultScaleClamp || c.Deltas[4*i+3]/c.Weights[3] > DefaultScaleClamp {
					clamped++
				}
			}
			if clamped == 0 {
				t.Error("no delta reaches the scale clamp in this case")
			}
		})
	}
}

// TestGoldenMatcher feeds torchvision's quality matrices to Match. Cases marked
// zero_iou_gt hold a ground truth that overlaps no anchor; with allow_low_quality
// torchvision then matches every anchor that ties at IoU 0 with it (all the anchors that
// miss it) to their argmax ground truth. Match does not (package notes): there, anchors
// may differ only where torchvision's match has a best IoU below PositiveIoU, and Match
// must give them the threshold label.
func TestGoldenMatcher(t *testing.T) {
	g := readGolden(t)
	for _, c := range g.Matcher {
		for _, r := range c.Results {
			m := Matcher{PositiveIoU: r.Positive, NegativeIoU: r.Negative, AllowLowQuality: r.AllowLowQuality}
			got := m.Match(c.IoU, c.NGT, c.NAnchors, nil)
			if !(c.ZeroIoUGT && r.AllowLowQuality) {
				if !slices.Equal(got, r.Matches) {
					t.Errorf("%s %+v:\ngot         %v\ntorchvision %v", c.Name, m, got, r.Matches)
				}
				continue
			}
			differ := 0
			for j := range got {
				if got[j] == r.Matches[j] {
					continue
				}
				differ++
				best := math.Inf(-1)
				for i := range c.NGT {
					best = max(best, c.IoU[i*c.NAnchors+j])
				}
				want := Background
				if best >= m.NegativeIoU {
					want = Ignore
				}
				if r.Matches[j] < 0 || best >= m.PositiveIoU || got[j] != want {
					t.Errorf("%s %+v: anchor %d: got %d, torchvision %d, best IoU %v", c.Name, m, j, got[j], r.Matches[j], best)
				}
			}
			if differ == 0 {
				t.Errorf("%s %+v: expected torchvision's zero-IoU low-quality matches to differ", c.Name, m)
			}
		}
	}
}
