package wsauth

import "time"

// A deadline closes a socket unless it is stopped in time. An in-band
// attempt's first read and its auth_ok write share one: every short-lived
// timer of a handshake leaves a hole in the spans of the connections'
// long-lived objects of its size (BENCHMARKS.md, section 4). Deadlines
// are not pooled across attempts: a timer made in one synctest bubble
// cannot be reset from outside it.
type deadline struct {
	t    *time.Timer
	sock Socket
	cut  bool // close at once, without a close frame; else with 4408
}

// arm starts dl, new or stopped in time, for d.
func (dl *deadline) arm(d time.Duration, cut bool) {
	dl.cut = cut
	if dl.t == nil {
		dl.t = time.AfterFunc(d, dl.fire)
		return
	}
	dl.t.Reset(d)
}

func (dl *deadline) fire() {
	if dl.cut {
		closeNow(dl.sock)
		return
	}
	row := refusals[kindTimeout]
	dl.sock.Close(row.code, row.text)
}

// stop reports whether dl was stopped in time: false once it has fired.
func (dl *deadline) stop() bool { return dl.t.Stop() }
