package main

import (
	"sync"

	"github.com/coder/websocket"
)

// sendQueue is how many messages may wait for one slow connection before
// it is dropped: one slow reader must not hold up its room.
const sendQueue = 64

// hub keeps who is in which room on this node and delivers messages to
// them. It never blocks on a connection: each has its own queue, drained
// by its own writer.
type hub struct {
	mu     sync.Mutex
	rooms  map[string]map[*member]struct{}
	closed bool
}

// member is one connection in a room.
type member struct {
	room string
	send chan []byte

	kickOnce sync.Once
	kicked   chan struct{} // closed when the hub drops the member
	code     websocket.StatusCode
	reason   string
}

func newHub() *hub {
	return &hub{rooms: make(map[string]map[*member]struct{})}
}

// join adds a member to room. After close, the member comes back already
// kicked.
func (h *hub) join(room string) *member {
	m := &member{room: room, send: make(chan []byte, sendQueue), kicked: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		m.kick(websocket.StatusGoingAway, "server shutting down")
		return m
	}
	if h.rooms[room] == nil {
		h.rooms[room] = make(map[*member]struct{})
	}
	h.rooms[room][m] = struct{}{}
	h.mu.Unlock()
	return m
}

// leave removes m from its room.
func (h *hub) leave(m *member) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ms := h.rooms[m.room]; ms != nil {
		delete(ms, m)
		if len(ms) == 0 {
			delete(h.rooms, m.room)
		}
	}
}

// deliver queues msg for every member of room on this node. A member whose
// queue is full is dropped and closed rather than waited for.
func (h *hub) deliver(room string, msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for m := range h.rooms[room] {
		select {
		case m.send <- msg:
		default:
			delete(h.rooms[room], m)
			m.kick(websocket.StatusPolicyViolation, "too slow")
		}
	}
}

// count returns how many members room has on this node.
func (h *hub) count(room string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms[room])
}

// close drops every member with 1001 and refuses later joins.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for room, ms := range h.rooms {
		for m := range ms {
			m.kick(websocket.StatusGoingAway, "server shutting down")
		}
		delete(h.rooms, room)
	}
}

// kick tells m's writer to close the connection with code and reason.
func (m *member) kick(code websocket.StatusCode, reason string) {
	m.kickOnce.Do(func() {
		m.code, m.reason = code, reason
		close(m.kicked)
	})
}
