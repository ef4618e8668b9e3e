// Package strictjson decodes the JSON files a user writes (sweep configs, training specs,
// scheduler states) strictly: one value, no unknown fields, nothing after it.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// ErrTrailing is returned for data after the JSON value.
var ErrTrailing = errors.New("strictjson: trailing data after the JSON value")

// Unmarshal decodes exactly one JSON value from data into v, refusing unknown object fields
// and trailing data (ErrTrailing). Its other errors are encoding/json's.
func Unmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrTrailing
	}
	return nil
}
