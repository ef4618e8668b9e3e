package rss

import (
	"runtime"
	"testing"
)

// TestBytesSeesAnAllocation: touching 64 MiB raises the reading by about that much.
func TestBytesSeesAnAllocation(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	before, err := Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if before < 1<<20 {
		t.Fatalf("RSS %d bytes: implausibly small", before)
	}
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	after, err := Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if grew := after - before; grew < 60<<20 || grew > 80<<20 {
		t.Errorf("RSS grew by %d MiB after touching 64 MiB", grew>>20)
	}
	runtime.KeepAlive(buf)
}
