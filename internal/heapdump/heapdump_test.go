package heapdump

import (
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

// chunk is an object of the 352-byte size class.
type chunk struct {
	next *chunk
	pad  [344]byte
}

// sink keeps chunks alive through the dump.
var sink []*chunk

// TestReadFindsTheHoles dumps this process after freeing three of every
// four 352-byte objects of a fresh run of spans: the survivors' spans
// are counted whole, so the class's unused bytes are most of them.
func TestReadFindsTheHoles(t *testing.T) {
	classes, err := SizeClasses(runtime.GOROOT())
	if err != nil {
		t.Fatal(err)
	}
	if classes[352] != pageSize {
		t.Fatalf("352-byte spans are %d bytes, want %d", classes[352], pageSize)
	}
	const n = 4096
	all := make([]*chunk, n)
	for i := range all {
		all[i] = new(chunk)
	}
	for i := 0; i < n; i += 4 {
		sink = append(sink, all[i])
	}
	all = nil
	runtime.GC()
	f, err := os.CreateTemp(t.TempDir(), "dump")
	if err != nil {
		t.Fatal(err)
	}
	debug.WriteHeapDump(f.Fd())
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	got, err := Read(f, classes)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := got[352]
	if c.Objects < n/4 || c.Live != c.Objects*352 {
		t.Fatalf("class 352: %d objects, %d B live; want at least %d objects of 352 B", c.Objects, c.Live, n/4)
	}
	// The survivors are spread over the spans of all n: 3/4 of those
	// spans' bytes are free slots.
	if want := uint64(n * 352 * 3 / 4 / 2); c.Unused() < want {
		t.Errorf("class 352: %d B unused, want at least %d", c.Unused(), want)
	}
	var live, spans uint64
	for _, c := range got {
		live += c.Live
		spans += c.Spans
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if spans < live || spans > m.HeapInuse*11/10 {
		t.Errorf("%d B of spans for %d B live; the runtime has %d B of spans in use", spans, live, m.HeapInuse)
	}
	runtime.KeepAlive(sink)
}

// dump builds a heap dump of objects at addresses of the given size.
func dump(size uint64, addrs ...uint64) []byte {
	b := []byte(header)
	for _, a := range addrs {
		b = binary.AppendUvarint(b, tagObject)
		b = binary.AppendUvarint(b, a)
		b = binary.AppendUvarint(b, size)
		b = append(b, make([]byte, size)...)
		b = binary.AppendUvarint(b, 0)
	}
	return binary.AppendUvarint(b, tagEOF)
}

var testClasses = map[uint64]uint64{16: 8192, 352: 8192, 3072: 24576}

// TestReadCountsSpans: objects of one span count it once; a new page, a
// gap that is not a whole number of objects, or a step back starts
// another; multi-page spans are found by their base.
func TestReadCountsSpans(t *testing.T) {
	for _, c := range []struct {
		name  string
		size  uint64
		addrs []uint64
		spans uint64
	}{
		{"one span", 352, []uint64{0x10000, 0x10000 + 352, 0x10000 + 22*352}, 8192},
		{"two pages", 352, []uint64{0x10000, 0x12000}, 2 * 8192},
		{"step back", 352, []uint64{0x10000 + 352, 0x10000}, 2 * 8192},
		{"multi-page span", 3072, []uint64{0x10000 + 2*3072, 0x10000 + 7*3072}, 24576},
		{"large", 40000, []uint64{0x10000}, 5 * 8192},
	} {
		got, err := Read(bytes.NewReader(dump(c.size, c.addrs...)), testClasses)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if s := got[c.size].Spans; s != c.spans {
			t.Errorf("%s: %d B of spans, want %d", c.name, s, c.spans)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(dump(352, 0x10000, 0x10000+352))
	f.Add([]byte(header))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Read(bytes.NewReader(b), testClasses)
		if err != nil {
			return
		}
		for size, c := range got {
			if c.Live != c.Objects*size || c.Spans < c.Live {
				t.Fatalf("size %d: %+v", size, c)
			}
		}
	})
}
