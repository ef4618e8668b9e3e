package dynamic

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"reflect"
	"strings"

	"github.com/smoothl1/smoothl1/internal/strictjson"
)

// The state envelope:
//
//	{"format":"smoothl1.dynamic.state","kind":"sasl","version":1,"dim":4,
//	 "config":{...},"state":{...},"crc32":1234567890}
//
// crc32 is the IEEE CRC-32 of kind, version, dim and the compacted config
// and state JSON, so whitespace may change (a pretty-printed blob restores)
// but no value can. Floats are JSON numbers in Go's shortest round-trip
// form, which parse back bit for bit.
//
// Version 2 added DynamicRCNN's source; version 1 blobs still restore (see
// DynamicRCNN.Restore).
const (
	stateFormat  = "smoothl1.dynamic.state"
	stateVersion = 2
)

var envelopeKeys = []string{"format", "kind", "version", "dim", "config", "state", "crc32"}

type envelope struct {
	Format  string          `json:"format"`
	Kind    string          `json:"kind"`
	Version int             `json:"version"`
	Dim     int             `json:"dim"`
	Config  json.RawMessage `json:"config"`
	State   json.RawMessage `json:"state"`
	CRC32   uint32          `json:"crc32"`
}

func checksum(kind string, version, dim int, config, state []byte) (uint32, error) {
	var buf bytes.Buffer
	buf.WriteString(kind)
	buf.WriteByte(0)
	var n [16]byte
	binary.LittleEndian.PutUint64(n[:8], uint64(version))
	binary.LittleEndian.PutUint64(n[8:], uint64(dim))
	buf.Write(n[:])
	for _, raw := range [][]byte{config, state} {
		if err := json.Compact(&buf, raw); err != nil {
			return 0, err
		}
		buf.WriteByte(0)
	}
	return crc32.ChecksumIEEE(buf.Bytes()), nil
}

func encodeState(kind string, dim int, config, state any) ([]byte, error) {
	c, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	s, err := json.Marshal(state)
	if err != nil {
		return nil, err
	}
	sum, err := checksum(kind, stateVersion, dim, c, s)
	if err != nil {
		return nil, err
	}
	return json.Marshal(envelope{Format: stateFormat, Kind: kind, Version: stateVersion, Dim: dim, Config: c, State: s, CRC32: sum})
}

// decodeState checks blob's envelope against kind and dim, decodes its
// config and state, and returns its version (1 or stateVersion). It does not
// check the values.
func decodeState(blob []byte, kind string, dim int, config, state any) (version int, err error) {
	var env envelope
	if err := strictjson.Unmarshal(blob, &env); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrCorruptState, err)
	}
	if env.Format != stateFormat {
		return 0, fmt.Errorf("%w: format %q, want %q", ErrCorruptState, env.Format, stateFormat)
	}
	// encoding/json matches keys case-insensitively; the envelope's keys are
	// not under the checksum, so insist on their exact spelling.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(blob, &keys); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrCorruptState, err)
	}
	for _, k := range envelopeKeys {
		if _, ok := keys[k]; !ok {
			return 0, fmt.Errorf("%w: no %q", ErrCorruptState, k)
		}
	}
	if len(keys) != len(envelopeKeys) {
		return 0, fmt.Errorf("%w: %d envelope keys, want %d", ErrCorruptState, len(keys), len(envelopeKeys))
	}
	switch {
	case env.Kind != kind:
		return 0, fmt.Errorf("%w: kind %q, want %q", ErrWrongKind, env.Kind, kind)
	case env.Version != stateVersion && env.Version != 1:
		return 0, fmt.Errorf("%w: version %d, want 1 to %d", ErrVersion, env.Version, stateVersion)
	}
	sum, err := checksum(env.Kind, env.Version, env.Dim, env.Config, env.State)
	if err != nil || sum != env.CRC32 {
		return 0, fmt.Errorf("%w: checksum mismatch", ErrCorruptState)
	}
	if env.Dim != dim {
		return 0, fmt.Errorf("%w: state has D = %d, scheduler has D = %d", ErrDimMismatch, env.Dim, dim)
	}
	if err := strictjson.Unmarshal(env.Config, config); err != nil {
		return 0, fmt.Errorf("%w: config: %w", ErrCorruptState, err)
	}
	if err := strictjson.Unmarshal(env.State, state); err != nil {
		return 0, fmt.Errorf("%w: state: %w", ErrCorruptState, err)
	}
	return env.Version, nil
}

// sameConfig compares two config structs of the same type field by field
// and names the first that differs.
func sameConfig(here, there any) error {
	h, t := reflect.ValueOf(here), reflect.ValueOf(there)
	for i := range h.NumField() {
		if hv, tv := h.Field(i).Interface(), t.Field(i).Interface(); hv != tv {
			name, _, _ := strings.Cut(h.Type().Field(i).Tag.Get("json"), ",")
			return fmt.Errorf("%w: %s = %v in the state, %v here", ErrConfigMismatch, name, tv, hv)
		}
	}
	return nil
}
