package ticket

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// IDLen is the length of a ticket ID in characters: 32 random bytes in
// unpadded base64url.
const IDLen = 43

const idBytes = 32

var idEncoding = base64.RawURLEncoding.Strict()

// NewID returns a fresh ticket ID and its store key.
func NewID() (id string, key Key) {
	var b [idBytes]byte
	rand.Read(b[:]) // never returns an error; it crashes the program instead.
	var enc [IDLen]byte
	idEncoding.Encode(enc[:], b[:])
	return string(enc[:]), sha256.Sum256(b[:])
}

// KeyOf validates a presented ticket ID and returns its store key. Anything
// but 43 characters of strict base64url yields ErrMalformed, without any
// store being consulted.
func KeyOf(id string) (Key, error) {
	if len(id) != IDLen {
		return Key{}, ErrMalformed
	}
	var b [idBytes]byte
	n, err := idEncoding.Decode(b[:], []byte(id))
	if err != nil || n != idBytes {
		return Key{}, ErrMalformed
	}
	return sha256.Sum256(b[:]), nil
}
