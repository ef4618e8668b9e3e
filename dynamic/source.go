package dynamic

import "fmt"

// Source is what a scheduler's batch statistics are taken of.
//
//	Residual   d = pred − target: how far the predictions are (RetinaMask's rule)
//	Target     d = target: the regression targets themselves, the encoded deltas of the
//	           positive anchors or proposals to their ground truth (Dynamic R-CNN's rule:
//	           its e shrinks as proposals improve, whatever the predictions do)
//
// The zero value is SourceDefault, the scheduler's published source, which its constructor
// resolves.
type Source int

const (
	SourceDefault Source = iota // the published source of the scheduler
	Residual                    // |pred − target|
	Target                      // |target|
)

var sourceNames = [...]string{SourceDefault: "default", Residual: "residual", Target: "target"}

// String returns "residual", "target" or "default".
func (s Source) String() string {
	if s >= 0 && int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// ParseSource parses "residual" or "target".
func ParseSource(text string) (Source, error) {
	switch text {
	case "residual":
		return Residual, nil
	case "target":
		return Target, nil
	}
	return SourceDefault, fmt.Errorf("%w: source %q (accepted: residual, target)", ErrBadOption, text)
}

func (s Source) valid() bool { return s == Residual || s == Target }
