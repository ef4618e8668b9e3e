package strictjson

import (
	"errors"
	"testing"
)

func TestUnmarshal(t *testing.T) {
	type T struct{ A int }
	var v T
	if err := Unmarshal([]byte(` {"A": 3} `), &v); err != nil || v.A != 3 {
		t.Fatalf("got %+v, %v", v, err)
	}
	if err := Unmarshal([]byte(`{"A": 3, "B": 1}`), &v); err == nil {
		t.Error("an unknown field was accepted")
	}
	if err := Unmarshal([]byte(`{"A": 3} {}`), &v); !errors.Is(err, ErrTrailing) {
		t.Errorf("trailing data: %v", err)
	}
	if err := Unmarshal([]byte(`{"A": "x"}`), &v); err == nil {
		t.Error("a string for an int was accepted")
	}
	if err := Unmarshal(nil, &v); err == nil {
		t.Error("empty input was accepted")
	}
}
