package stats

// MedianWindow collects one value per step and yields the median of the
// values collected since the last Reset, as Dynamic R-CNN does with the
// per-iteration statistic it averages over C iterations. The zero value is
// an empty window ready to use.
type MedianWindow struct {
	values  []float64
	scratch []float64
}

// NewMedianWindow returns an empty window with room for capacity values (at
// most maxPrealloc; a larger window grows as values arrive).
func NewMedianWindow(capacity int) *MedianWindow {
	capacity = min(max(capacity, 0), maxPrealloc)
	return &MedianWindow{values: make([]float64, 0, capacity), scratch: make([]float64, 0, capacity)}
}

// maxPrealloc bounds the storage allocated ahead from a size hint. Hints
// come from user configuration (Dynamic R-CNN's K and interval C in a loss
// spec), and a hint of 10¹² must not allocate terabytes before a single
// value arrives.
const maxPrealloc = 1 << 16

// Add records v and reports whether it was recorded: NaN and ±Inf are not
// (they would make the median meaningless).
func (w *MedianWindow) Add(v float64) bool {
	if !Finite(v) {
		return false
	}
	w.values = append(w.values, v)
	return true
}

// Len returns the number of values recorded since the last Reset.
func (w *MedianWindow) Len() int { return len(w.values) }

// Values returns the recorded values in the order they were added. The slice
// belongs to w and is valid until the next Add or Reset.
func (w *MedianWindow) Values() []float64 { return w.values }

// Median returns the median of the recorded values as defined by Median (the
// average of the two middle values for an even count). It works on a scratch
// copy, leaving the record intact, and panics if the window is empty.
func (w *MedianWindow) Median() float64 {
	if len(w.values) == 0 {
		panic(msgEmpty)
	}
	w.scratch = append(w.scratch[:0], w.values...)
	return Median(w.scratch)
}

// Reset empties the window, keeping its storage.
func (w *MedianWindow) Reset() { w.values = w.values[:0] }
