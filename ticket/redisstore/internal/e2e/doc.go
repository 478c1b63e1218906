// Package e2e holds end-to-end tests of the Redis ticket store behind whole
// application servers (ticket.Issuer and a wsauth handshake over HTTP). It
// has no code of its own. The tests live apart from package redisstore so
// that its own tests do not depend on package wsauth.
package e2e
