// Package twonode holds end-to-end tests of two application nodes (a
// ticket.Issuer and a wsauth handshake over HTTP each) sharing one Redis
// ticket store. It has no code of its own; it lives apart from
// ticket/redisstore because package ticket and its stores know nothing of
// package wsauth.
package twonode
