// Package wsauth puts authentication and authorization in front of
// WebSocket handlers in a net/http server.
package wsauth
