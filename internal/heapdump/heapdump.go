// Package heapdump reads the objects of a Go heap dump
// (runtime/debug.WriteHeapDump) and finds, per size class, the bytes of
// the spans that hold them: the live objects, and the free slots between
// them that RSS pays for too. internal/connmem uses it to say where a
// connection's memory goes beyond its live objects.
//
// Only the records before the goroutines are read: the dump's header,
// parameters, types and itabs, and the objects, which the runtime writes
// span by span.
package heapdump

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

const pageSize = 8192

// header is the first line of every dump since Go 1.7.
const header = "go1.7 heap dump\n"

// Record tags (runtime/heapdump.go).
const (
	tagEOF       = 0
	tagObject    = 1
	tagType      = 3
	tagGoroutine = 4
	tagParams    = 6
	tagItab      = 8
)

// Class is what a dump holds of one object size.
type Class struct {
	Objects uint64 // live objects
	Live    uint64 // their bytes
	Spans   uint64 // bytes of the spans that hold them
}

// Unused is the bytes of c's spans that hold no live object.
func (c Class) Unused() uint64 { return c.Spans - c.Live }

// SizeClasses maps each small object size of the Go runtime to the bytes
// of its spans, read from goroot's internal/runtime/gc/sizeclasses.go.
func SizeClasses(goroot string) (map[uint64]uint64, error) {
	b, err := os.ReadFile(filepath.Join(goroot, "src", "internal", "runtime", "gc", "sizeclasses.go"))
	if err != nil {
		return nil, err
	}
	m := map[uint64]uint64{}
	for _, s := range classLine.FindAllSubmatch(b, -1) {
		size, _ := strconv.ParseUint(string(s[1]), 10, 64)
		span, _ := strconv.ParseUint(string(s[2]), 10, 64)
		m[size] = span
	}
	if len(m) == 0 {
		return nil, errors.New("heapdump: no size classes in sizeclasses.go")
	}
	return m, nil
}

// classLine is a line of sizeclasses.go's table: class, bytes/obj,
// bytes/span, objects, ….
var classLine = regexp.MustCompile(`(?m)^//\s+\d+\s+(\d+)\s+(\d+)\s+\d+`)

// ErrFormat is the error of a dump this package cannot read.
var ErrFormat = errors.New("heapdump: not a heap dump it can read")

// Read reads the objects of the dump r and returns them by size. classes
// is SizeClasses' map; an object of a size not in it is large, alone in a
// span of whole pages.
func Read(r io.Reader, classes map[uint64]uint64) (map[uint64]Class, error) {
	d := &decoder{r: bufio.NewReaderSize(r, 1<<20)}
	h := make([]byte, len(header))
	if _, err := io.ReadFull(d.r, h); err != nil || string(h) != header {
		return nil, fmt.Errorf("%w: no header", ErrFormat)
	}
	out := map[uint64]Class{}
	var (
		spanSize, spanBase, spanEnd, prev uint64 // the span being read
	)
	for d.err == nil {
		switch tag := d.uvarint(); tag {
		case tagParams:
			d.uvarint() // big-endian
			d.uvarint() // pointer size
			d.uvarint() // arena start
			d.uvarint() // arena end
			d.skipString()
			d.skipString()
			d.uvarint() // CPUs
		case tagType:
			d.uvarint() // address
			d.uvarint() // size
			d.skipString()
			d.uvarint() // indirect
		case tagItab:
			d.uvarint()
			d.uvarint()
		case tagObject:
			addr := d.uvarint()
			size := d.uvarint()
			d.skip(size)
			for d.err == nil && d.uvarint() != 0 { // pointer fields, to the end mark
				d.uvarint()
			}
			if d.err != nil {
				break
			}
			c := out[size]
			c.Objects++
			c.Live += size
			span, small := classes[size]
			switch {
			case !small || size == 0:
				c.Spans += (size + pageSize - 1) / pageSize * pageSize
				spanSize = 0
			case size != spanSize || addr <= prev || (addr-prev)%size != 0 || addr >= spanEnd:
				// The runtime writes spans one after another: a new one
				// starts at the nearest page boundary from which addr is
				// a whole number of objects.
				spanBase = addr &^ (pageSize - 1)
				for spanBase >= pageSize && (addr-spanBase)%size != 0 && addr-spanBase < span {
					spanBase -= pageSize
				}
				spanSize, spanEnd = size, spanBase+span
				c.Spans += span
			}
			prev = addr
			out[size] = c
		case tagGoroutine, tagEOF:
			return out, nil // the objects are all read
		default:
			return nil, fmt.Errorf("%w: record %d before the goroutines", ErrFormat, tag)
		}
	}
	return nil, fmt.Errorf("%w: %v", ErrFormat, d.err)
}

// decoder reads a dump's fields; the first error sticks.
type decoder struct {
	r   *bufio.Reader
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	for shift := uint(0); ; shift += 7 {
		b, err := d.r.ReadByte()
		if err != nil {
			d.err = io.ErrUnexpectedEOF
			return 0
		}
		if shift == 63 && b > 1 {
			d.err = errors.New("varint overflows 64 bits")
			return 0
		}
		x |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return x
		}
	}
}

func (d *decoder) skip(n uint64) {
	if d.err != nil {
		return
	}
	if m, _ := io.CopyN(io.Discard, d.r, int64(min(n, 1<<62))); uint64(m) != n {
		d.err = io.ErrUnexpectedEOF
	}
}

func (d *decoder) skipString() { d.skip(d.uvarint()) }
