// Package wire holds the parts of the wire formats that both package
// transport (the public parsers and builders) and package wsauth (the
// server's per-frame fast path) need, but that are not API: credential
// checks, the JSON object scanner, and parsers that compare a frame's token
// against one already known instead of checking it byte by byte.
//
// Errors here wrap ErrNoCredential or ErrMalformed, which transport exports
// under the same names; their texts start with "transport:" because that is
// the package users see them through.
package wire

import "errors"

// ErrNoCredential and ErrMalformed are transport's sentinels of the same
// names.
var (
	ErrNoCredential = errors.New("transport: no credential")
	ErrMalformed    = errors.New("transport: malformed credential")
)
