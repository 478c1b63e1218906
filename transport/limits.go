package transport

import "github.com/wsauth/wsauth/internal/wire"

// MaxCredentialLen is the longest credential, in bytes, that any parser in
// this package accepts and any builder produces: 8 KiB, room for a JWT with
// a generous set of claims. wsauth's JWT verifier takes no longer token, so
// every carrier can carry every credential a verifier would accept.
const MaxCredentialLen = wire.MaxCredentialLen
