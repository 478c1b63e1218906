package memnet

// ring is a fixed-capacity FIFO of bytes. Its memory is allocated on the
// first write, so an idle direction of a connection costs nothing.
type ring struct {
	buf   []byte
	size  int // capacity
	start int // index of the oldest byte
	n     int // bytes held
}

func (r *ring) len() int  { return r.n }
func (r *ring) free() int { return r.size - r.n }

// write copies as much of p as fits and reports how much that was.
func (r *ring) write(p []byte) int {
	if r.buf == nil {
		r.buf = make([]byte, r.size)
	}
	total := 0
	for len(p) > 0 && r.n < r.size {
		end := (r.start + r.n) % r.size
		limit := r.size // write up to the end of buf, or up to start
		if end < r.start {
			limit = r.start
		}
		c := copy(r.buf[end:limit], p)
		p = p[c:]
		r.n += c
		total += c
	}
	return total
}

// read moves up to len(p) of the oldest bytes into p.
func (r *ring) read(p []byte) int {
	total := 0
	for len(p) > 0 && r.n > 0 {
		end := min(r.start+r.n, r.size)
		c := copy(p, r.buf[r.start:end])
		p = p[c:]
		r.n -= c
		r.start = (r.start + c) % r.size
		total += c
	}
	if r.n == 0 {
		r.start = 0
	}
	return total
}

// reset drops everything held.
func (r *ring) reset() {
	r.buf, r.start, r.n = nil, 0, 0
}
