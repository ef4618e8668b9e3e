package rss

import (
	"runtime"
	"runtime/debug"
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

// TestPeak: the peak stays at least the current RSS and keeps a 64 MiB buffer after it is
// freed and returned to the system.
func TestPeak(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	cur, _ := Bytes()
	before, err := Peak()
	if err != nil {
		t.Fatal(err)
	}
	if before < cur {
		t.Fatalf("peak %d < current %d", before, cur)
	}
	func() {
		buf := make([]byte, before+(64<<20)) // past the peak, whatever it was
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 1
		}
		runtime.KeepAlive(buf)
	}()
	runtime.GC()
	debug.FreeOSMemory()
	after, err := Peak()
	if err != nil {
		t.Fatal(err)
	}
	if after < before+(60<<20) {
		t.Errorf("peak %d MiB after touching %d MiB (before %d MiB)", after>>20, (before+(64<<20))>>20, before>>20)
	}
}

func TestParseHWM(t *testing.T) {
	got, err := parseHWM([]byte("Name:\tx\nVmPeak:\t  100 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n"))
	if err != nil || got != 2048<<10 {
		t.Errorf("parseHWM = %d, %v; want %d", got, err, 2048<<10)
	}
	for _, bad := range []string{"Name:\tx\n", "VmHWM:\t12 MB\n", "VmHWM:\tx kB\n"} {
		if _, err := parseHWM([]byte(bad)); err == nil {
			t.Errorf("parseHWM(%q) accepted", bad)
		}
	}
}
