package main

import (
	"crypto/subtle"
	"slices"
)

// The demo's users and rooms. A real application has a user database; the
// shape of the checks (who is this, may they enter this room) is the same.

// accounts maps user names to passwords. Demo only: the password is the
// name.
var accounts = map[string]string{
	"alice": "alice",
	"bob":   "bob",
	"carol": "carol",
}

// rooms maps room names to their members; nil means everyone.
var rooms = map[string][]string{
	"general": nil,
	"secret":  {"alice", "bob"},
}

// checkPassword reports whether password is user's.
func checkPassword(user, password string) bool {
	want, ok := accounts[user]
	if !ok {
		// Compare anyway, so timing does not tell which names exist.
		want = "\x00"
	}
	return subtle.ConstantTimeCompare([]byte(password), []byte(want)) == 1 && ok
}

// mayEnter reports whether user may join room. Unknown rooms admit nobody.
func mayEnter(user, room string) bool {
	members, ok := rooms[room]
	if !ok {
		return false
	}
	if members == nil {
		_, known := accounts[user]
		return known
	}
	return slices.Contains(members, user)
}
