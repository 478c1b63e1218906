// Package wsauthtest helps users of wsauth test their WebSocket handlers
// without a real credential system: a fake Verifier that maps credentials
// to principals, a loopback test server in the shape of httptest.Server
// (NewServer, NewHandlerServer) or one on an in-memory network for tests
// in a testing/synctest bubble (NewMemServer: expiries, notices and
// timeouts in virtual time), and dial helpers for each strategy.
//
// Helpers that can fail only through misuse call t.Fatal, so tests stay
// one line.
package wsauthtest
