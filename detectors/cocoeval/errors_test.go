package cocoeval

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	ok := gt(1, 7, [4]float64{0, 0, 10, 10})
	for _, tc := range []struct {
		name     string
		gt       []GT
		dets     []Det
		imageIDs []int64
		p        Params
		want     error
		says     string // must appear in the message
	}{
		{"detection on an image without gt", []GT{ok}, []Det{det(8, ok.Box, 1)}, nil, Params{}, ErrUnknownImage, "image id 8"},
		{"detection on an unlisted image", []GT{ok}, []Det{det(9, ok.Box, 1)}, []int64{7, 8}, Params{}, ErrUnknownImage, "image id 9"},
		{"gt on an unlisted image", []GT{ok}, nil, []int64{8}, Params{}, ErrUnknownImage, "image id 7"},
		{"NaN score", []GT{ok}, []Det{det(7, ok.Box, nan)}, nil, Params{}, ErrNotFinite, "dets[0] score NaN"},
		{"Inf score", []GT{ok}, []Det{det(7, ok.Box, inf)}, nil, Params{}, ErrNotFinite, "dets[0] score"},
		{"NaN det box", []GT{ok}, []Det{det(7, [4]float64{0, nan, 1, 1}, 1)}, nil, Params{}, ErrNotFinite, "dets[0] box"},
		{"Inf gt box", []GT{gt(3, 7, [4]float64{0, 0, inf, 1})}, nil, nil, Params{}, ErrNotFinite, "gt[0] (id 3) box"},
		{"NaN gt area", []GT{{ID: 1, ImageID: 7, Box: ok.Box, Area: nan}}, nil, nil, Params{}, ErrNotFinite, "area"},
		{"negative gt area", []GT{{ID: 1, ImageID: 7, Box: ok.Box, Area: -1}}, nil, nil, Params{}, ErrNegativeSize, "area -1"},
		// The outside check's corners: pycocotools' IoU is NaN for these (0/0, Inf/Inf).
		{"det area underflows", []GT{ok}, []Det{det(7, [4]float64{0, 0, 1e-170, 1e-170}, 1)}, nil, Params{}, ErrBoxArea, "dets[0] box"},
		{"det area overflows", []GT{ok}, []Det{det(7, [4]float64{0, 0, 1e200, 1e200}, 1)}, nil, Params{}, ErrBoxArea, "dets[0] box"},
		{"gt area underflows", []GT{gt(3, 7, [4]float64{0, 0, 1e-170, 1e-170})}, nil, nil, Params{}, ErrBoxArea, "gt[0] (id 3) box"},
		{"gt corner overflows", []GT{gt(3, 7, [4]float64{1.7e308, 0, 1.7e308, 1e-300})}, nil, nil, Params{}, ErrBoxArea, "gt[0] (id 3) box"},
		{"negative det width", []GT{ok}, []Det{det(7, [4]float64{0, 0, -1, 1}, 1)}, nil, Params{}, ErrNegativeSize, "dets[0] box"},
		{"duplicate gt id", []GT{ok, ok}, nil, nil, Params{}, ErrDuplicateID, "id 1"},
		{"IoU threshold > 1", []GT{ok}, nil, nil, Params{IoUThresholds: []float64{0.5, 1.5}}, ErrParams, "IoUThresholds[1]"},
		{"recall thresholds not increasing", []GT{ok}, nil, nil, Params{RecallThresholds: []float64{0, 0.5, 0.5}}, ErrParams, "RecallThresholds[2]"},
		{"MaxDets decreasing", []GT{ok}, nil, nil, Params{MaxDets: [3]int{10, 1, 100}}, ErrParams, "MaxDets"},
		{"MaxDets zero entry", []GT{ok}, nil, nil, Params{MaxDets: [3]int{0, 10, 100}}, ErrParams, "MaxDets"},
		{"area range inverted", []GT{ok}, nil, nil, Params{AreaRanges: [4]AreaRange{{0, 1e10}, {10, 5}, {0, 1}, {0, 1}}}, ErrParams, "AreaRanges[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Evaluate(tc.gt, tc.dets, tc.imageIDs, tc.p)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("got %v, want %v naming %q", err, tc.want, tc.says)
			}
		})
	}
}
