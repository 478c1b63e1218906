package memnet

import (
	"bytes"
	"testing"
)

// TestRingWrapsAround pushes bytes through a small ring in chunks that do
// not divide its size, so that writes and reads cross the end of the
// buffer, and checks the bytes come out in order.
func TestRingWrapsAround(t *testing.T) {
	r := ring{size: 7}
	var in, out []byte
	next := byte(0)
	for range 50 {
		chunk := make([]byte, 5)
		for i := range chunk {
			chunk[i] = next
			next++
		}
		n := r.write(chunk)
		if want := min(5, r.size-(len(in)-len(out))); n != want {
			t.Fatalf("write = %d, want %d", n, want)
		}
		in = append(in, chunk[:n]...)
		got := make([]byte, 3)
		got = got[:r.read(got)]
		out = append(out, got...)
		if r.len() != len(in)-len(out) || r.free() != r.size-r.len() {
			t.Fatalf("len %d free %d, want len %d", r.len(), r.free(), len(in)-len(out))
		}
	}
	rest := make([]byte, 10)
	out = append(out, rest[:r.read(rest)]...)
	if !bytes.Equal(in, out) {
		t.Fatalf("read %v, want %v", out, in)
	}
	if r.len() != 0 {
		t.Fatalf("len = %d after draining", r.len())
	}
}
