package transport

import "github.com/coder/websocket"

// Close codes a wsauth server sends after the upgrade, following the
// graphql-ws convention. A client tells from them whether to fetch a new
// credential (4401), give up (4400, 4403) or wait (4408, 4429).
const (
	// CloseMalformed: the auth message could not be parsed.
	CloseMalformed websocket.StatusCode = 4400
	// CloseUnauthenticated: no, an invalid, an expired or a revoked
	// credential; also sent when a live connection's credential expires
	// or is revoked.
	CloseUnauthenticated websocket.StatusCode = 4401
	// CloseForbidden: authenticated, but not allowed here.
	CloseForbidden websocket.StatusCode = 4403
	// CloseAuthTimeout: no auth message arrived in time.
	CloseAuthTimeout websocket.StatusCode = 4408
	// CloseTooManyAttempts: too many failed attempts from this client.
	CloseTooManyAttempts websocket.StatusCode = 4429
)
