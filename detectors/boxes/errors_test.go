package boxes

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestConfigErrors(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	rn := RetinaNetAnchors()
	for _, tc := range []struct {
		name  string
		err   error
		field string // must appear in the message
	}{
		{"matcher negative > positive", Matcher{PositiveIoU: 0.4, NegativeIoU: 0.5}.Validate(), "NegativeIoU"},
		{"matcher positive > 1", Matcher{PositiveIoU: 1.5, NegativeIoU: 0.4}.Validate(), "PositiveIoU"},
		{"matcher negative < 0", Matcher{PositiveIoU: 0.5, NegativeIoU: -0.1}.Validate(), "NegativeIoU"},
		{"matcher NaN", Matcher{PositiveIoU: nan}.Validate(), "PositiveIoU"},
		{"coder zero weight", Coder{Weights: [4]float64{10, 10, 0, 5}}.Validate(), "Weights[2]"},
		{"coder negative weight", Coder{Weights: [4]float64{-1, 1, 1, 1}}.Validate(), "Weights[0]"},
		{"coder Inf weight", Coder{Weights: [4]float64{1, 1, 1, inf}}.Validate(), "Weights[3]"},
		{"coder negative clamp", Coder{ScaleClamp: -1}.Validate(), "ScaleClamp"},
		{"coder NaN clamp", Coder{ScaleClamp: nan}.Validate(), "ScaleClamp"},
		{"anchors no level", AnchorGenerator{}.Validate(), "Strides"},
		{"anchors zero stride", AnchorGenerator{Strides: []int{8, 0}, Sizes: []float64{1, 2}}.Validate(), "Strides[1]"},
		{"anchors sizes per level", AnchorGenerator{Strides: []int{8, 16}, Sizes: []float64{32}}.Validate(), "Sizes"},
		{"anchors negative size", AnchorGenerator{Strides: []int{8}, Sizes: []float64{-32}}.Validate(), "Sizes[0]"},
		{"anchors zero ratio", AnchorGenerator{Strides: rn.Strides, Sizes: rn.Sizes, AspectRatios: []float64{1, 0}}.Validate(), "AspectRatios[1]"},
		{"anchors Inf scale", AnchorGenerator{Strides: rn.Strides, Sizes: rn.Sizes, Scales: []float64{inf}}.Validate(), "Scales[0]"},
	} {
		var ce *ConfigError
		if !errors.Is(tc.err, ErrInvalidConfig) || !errors.As(tc.err, &ce) || !strings.Contains(tc.err.Error(), tc.field) {
			t.Errorf("%s: got %v, want a *ConfigError naming %s", tc.name, tc.err, tc.field)
		}
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"RetinaNet matcher", RetinaNetMatcher().Validate()},
		{"zero matcher", Matcher{}.Validate()},
		{"matcher 1, 1", Matcher{PositiveIoU: 1, NegativeIoU: 1}.Validate()},
		{"zero coder", Coder{}.Validate()},
		{"coder, clamp off", Coder{ScaleClamp: inf}.Validate()},
		{"RetinaNet anchors", rn.Validate()},
	} {
		if tc.err != nil {
			t.Errorf("%s: unexpected error %v", tc.name, tc.err)
		}
	}
}

func TestPanics(t *testing.T) {
	b2 := []Box{{0, 0, 1, 1}, {0, 0, 2, 2}}
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"NMS scores", func() { NMS(b2, []float64{1}, 0.5) }, msgLengthMismatch},
		{"BatchedNMS classes", func() { BatchedNMS(b2, []float64{1, 2}, []int{0}, 0.5) }, msgLengthMismatch},
		{"Encode", func() { Coder{}.Encode(nil, b2, b2[:1]) }, msgLengthMismatch},
		{"Decode", func() { Coder{}.Decode(nil, b2, make([]float64, 7)) }, msgLengthMismatch},
		{"Decode invalid coder", func() { Coder{ScaleClamp: -1}.Decode(nil, b2, make([]float64, 8)) }, msgBadConfig},
		{"Match matrix", func() { RetinaNetMatcher().Match(make([]float64, 5), 2, 3, nil) }, msgLengthMismatch},
		{"Match negative count", func() { RetinaNetMatcher().Match(nil, -1, 0, nil) }, msgNegativeCount},
		{"Match invalid matcher", func() { Matcher{PositiveIoU: 2}.Match(nil, 0, 0, nil) }, msgBadConfig},
		{"Anchors levels", func() { RetinaNetAnchors().Anchors([]FeatureSize{{1, 1}}) }, msgLengthMismatch},
		{"Anchors negative size", func() {
			RetinaNetAnchors().Anchors([]FeatureSize{{1, 1}, {1, 1}, {-1, 1}, {1, 1}, {1, 1}})
		}, msgNegativeCount},
		{"Anchors invalid", func() { AnchorGenerator{}.Anchors(nil) }, msgBadConfig},
		{"CellAnchors invalid", func() { AnchorGenerator{}.CellAnchors(0) }, msgBadConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != tc.want {
					t.Errorf("panic %v, want %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}
